#!/usr/bin/env bash
# Copy the pinned front-end libraries (maps/package.json + package-lock.json) into
# maps/static/vendor, so that pages never load anything from a CDN at run time.
#
#   scripts/vendor_assets.sh      # needs node + npm; the result is committed
#
# Only what the pages use is copied: Leaflet, Leaflet.markercluster, Leaflet.VectorGrid,
# Swagger UI (the /docs
# page), and from the DSFR its CSS, JS, Marianne fonts, the icons its CSS refers to, the few
# utility icon sets we use, its favicon and the pictograms of the easy-to-read texts. Each library keeps its licence file.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp maps/package.json maps/package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --silent)
modules="$work/node_modules"
vendor=maps/static/vendor
rm -rf "$vendor"
mkdir -p "$vendor/leaflet" "$vendor/leaflet.markercluster" "$vendor/leaflet.vectorgrid" \
         "$vendor/swagger-ui" \
         "$vendor/dsfr/utility/icons"

cp -r "$modules/leaflet/dist/leaflet.js" "$modules/leaflet/dist/leaflet.css" \
      "$modules/leaflet/dist/images" "$modules/leaflet/LICENSE" "$vendor/leaflet/"
cp "$modules/leaflet.markercluster/dist/leaflet.markercluster.js" \
   "$modules/leaflet.markercluster/dist/MarkerCluster.css" \
   "$modules/leaflet.markercluster/dist/MarkerCluster.Default.css" \
   "$modules/leaflet.markercluster/MIT-LICENCE.txt" "$vendor/leaflet.markercluster/"

# Vector tiles in Leaflet (the coverage choropleth); its licence (Beerware) is in its README.
cp "$modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" \
   "$modules/leaflet.vectorgrid/README.md" "$vendor/leaflet.vectorgrid/"

cp "$modules/swagger-ui-dist/swagger-ui-bundle.js" "$modules/swagger-ui-dist/swagger-ui.css" \
   "$modules/swagger-ui-dist/LICENSE" "$vendor/swagger-ui/"

dsfr="$modules/@gouvfr/dsfr/dist"
cp "$dsfr/dsfr.min.css" "$dsfr/dsfr.module.min.js" "$dsfr/dsfr.nomodule.min.js" \
   "$modules/@gouvfr/dsfr/LICENSE.md" "$vendor/dsfr/"
cp -r "$dsfr/fonts" "$dsfr/favicon" "$vendor/dsfr/"
# The icons the core CSS points at (url(icons/…)), nothing else.
grep -o 'url(icons/[^)]*)' "$dsfr/dsfr.min.css" | sed 's/^url(//; s/)$//' | sort -u |
  while read -r icon; do
    mkdir -p "$vendor/dsfr/$(dirname "$icon")"
    cp "$dsfr/$icon" "$vendor/dsfr/$icon"
  done
# Utility icon sets used by the pages (fr-icon-…), with the SVGs they point at.
for set in system map device health user business; do
  css="$dsfr/utility/icons/icons-$set/icons-$set.min.css"
  mkdir -p "$vendor/dsfr/utility/icons/icons-$set"
  cp "$css" "$vendor/dsfr/utility/icons/icons-$set/"
  grep -o 'url(\.\./\.\./\.\./icons/[^)]*)' "$css" | sed 's#^url(\.\./\.\./\.\./##; s/)$//' | sort -u |
    while read -r icon; do
      mkdir -p "$vendor/dsfr/$(dirname "$icon")"
      cp "$dsfr/$icon" "$vendor/dsfr/$icon"
    done
done
# The DSFR pictograms shown beside the « Facile à lire » texts (data/taxonomie/facile/*.md).
grep -ho '^pictogramme: .*' data/taxonomie/facile/*.md | sed 's/^pictogramme: //' | sort -u |
  while read -r picto; do
    mkdir -p "$vendor/dsfr/artwork/pictograms/$(dirname "$picto")"
    cp "$dsfr/artwork/pictograms/$picto.svg" "$vendor/dsfr/artwork/pictograms/$picto.svg"
  done
# axe-core drives the accessibility tests (tests/test_accessibilite.py): never served to users.
mkdir -p tests/vendor/axe-core
cp "$modules/axe-core/axe.min.js" "$modules/axe-core/LICENSE" tests/vendor/axe-core/
echo "Bibliothèques copiées dans $vendor :"
du -sh "$vendor"/*
