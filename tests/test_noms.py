"""Display names and addresses from real FINESS spellings (national file, 2021-01-08)."""

import pytest

from cartographie.noms import (
    adresse_affichage,
    cle_comparaison,
    jetons,
    nom_affichage,
    sans_guillemets_csv,
    tables,
)


@pytest.mark.parametrize(("source", "affiche"), [
    # CSV escaping left in the source, as the issue reports it
    ('"CSAPA ""LES WADS"" CMSEA METZ"', "CSAPA « Les Wads » CMSEA Metz"),
    ('"LBM""LABORATOIRE ATOUTBIO"" QUATRE EGLIS"', "LBM « Laboratoire Atoutbio » Quatre Eglis"),
    ('"""""SELARL PHARMACIE GRAND"""""', "Pharmacie Grand"),
    ('"EHPAD ""LE CORNILLON"" ST RAMBERT  BUGEY"', "EHPAD « Le Cornillon » Saint-Rambert Bugey"),
    # abbreviations expanded, acronyms kept, accents restored
    ("CTRE DE SOINS INFIRMIERS", "Centre de Soins Infirmiers"),
    ("CENTRE DE SANTE DENTAIRE ASSN", "Centre de Santé Dentaire Association"),
    ("CMP ENFANTS HAUT DU LIEVRE", "CMP Enfants Haut du Lièvre"),
    # national file, first CMP offered in Lille (« ANT » is an antenne), Marseille, Lorraine
    ("ANT CMP ADULT BOIS BLANCS EPSM AGGL LI",
     "Antenne CMP Adultes Bois Blancs EPSM Agglomération Li"),
    ("CAB INFIRMIER DU CENTRE", "Cabinet Infirmier du Centre"),
    ("CENTRE DE SANTE MUT DE LILLE", "Centre de Santé Mutualiste de Lille"),
    ("CMP CATTP HJ ENF DU CH BRIEY A BRIEY", "CMP CATTP HJ Enfants du CH Briey à Briey"),
    ("EHPAD LOUIS II", "EHPAD Louis II"),
    ("CDAG - CTRE DEPIST. ANON. & GRAT.", "CDAG - Centre Dépistage Anonyme & Gratuit"),
    ("CEGIDD DU CHU DE NANCY", "CeGIDD du CHU de Nancy"),
    ("LBM BIOLAM - POLYCLINIQUE ST NAZAIRE", "Laboratoire Biolam - Polyclinique Saint-Nazaire"),
    ("CONSULT.PROTECTION INFANTILE", "Consultation Protection Infantile"),
    ("C. P. E. F.    DE   SAINT-JOSEPH", "CPEF de Saint-Joseph"),
    ("M.J.P.M. UDAF", "MJPM UDAF"),
    ("CMP/CATTP ADULTES", "CMP/CATTP Adultes"),
    ("BAPU DE LILLE", "BAPU de Lille"),
    ("CAARUD LA PASSERELLE", "CAARUD La Passerelle"),
    ("CMPP DE NANCY", "CMPP de Nancy"),
    ("MSP DU HAUT SAINTOIS - VICHEREY",
     "Maison de Santé Pluriprofessionnelle du Haut Saintois - Vicherey"),
    # French elision, articles and prepositions
    ("CENTRE DE PLANIFICATION ET D EDUCATION FAMILIALE",
     "Centre de Planification et d'Éducation Familiale"),
    ("PHARMACIE DE L EGLISE", "Pharmacie de l'Église"),
    ("RESIDENCE LES TILLEULS", "Résidence Les Tilleuls"),
    ("SAAD A DOMICILE VIVRE AUTREMENT", "SAAD à Domicile Vivre Autrement"),
    ("IMMEUBLE L'ECLIPSE - ENTREE A", "Immeuble l'Eclipse - Entrée A"),
    ("SAAD CCAS DE ROSNY SOUS BOIS", "SAAD CCAS de Rosny sous Bois"),
    # seen on the orientation answers (Brest, Lyon, Lille, Cayenne, Limoges, Paris)
    ("CENTRE PLANIF.& EDUCA. FAMILIALE", "Centre Planification & Éducation Familiale"),
    ("CENTRE DE PLANIFIC. ET D'EDUC. FAMILIALE",
     "Centre de Planification et d'Éducation Familiale"),
    ("CTRE PLANIF.VIEUX-TEMPLE", "Centre Planification Vieux-Temple"),
    ("DISPENS ANTIVENERIEN ET DEPISTAGE SIDA", "Dispensaire Antivénérien et Dépistage Sida"),
    ("CTRE MÉDICO.-PSYCHOLOG. ST LAURENT", "Centre Médico-Psychologique Saint-Laurent"),
    ("CENTRE REGIONAL D'EXAMENS DE SANTE", "Centre Régional d'Examens de Santé"),
    ("CPEF DU MINISTERE", "CPEF du Ministère"),
    ("MAISON DES PERSONNES AGEES", "Maison des Personnes Âgées"),
    ("SELARL PHARMACIE ALBERT 1ER", "Pharmacie Albert 1er"),
    ("CENTRE DE SANTE MGEN LYON 3EME", "Centre de Santé MGEN Lyon 3e"),
    # the trade's jargon: legal forms dropped while other words remain, acronyms at the head
    # spelled out (seen on the sheets of Nancy and Les Abymes)
    ("LBM SELAS CERBALLIANCE PARIS SITE OZOI", "Laboratoire Cerballiance Paris Site Ozoi"),
    ("LBM CENTRE BIOLOG MEDICALE GRANDE-TERRE",
     "Laboratoire Centre Biologie Médicale Grande-Terre"),
    ("CDS INFIRMIERS DE CANCALE", "Centre de Santé Infirmiers de Cancale"),
    ("M DE S PLURIDISCIPLINAIRE LES MOUFFIAS", "Maison de Santé Pluridisciplinaire Les Mouffias"),
    ("SISA EVREUX SUD", "Maison de Santé Evreux Sud"),
    ("SELARL", "SELARL"),
    ("LBM Cerballiance Paris", "Laboratoire Cerballiance Paris"),
    # a name typed by a person keeps its capitalisation
    ("Centre de santé  Marie Curie", "Centre de santé Marie Curie"),
])
def test_nom_affichage(source, affiche):
    assert nom_affichage(source) == affiche


@pytest.mark.parametrize(("source", "affiche"), [
    ("900 RTE DE PARIS", "900 route de Paris"),
    ("700 AV DE NARVIK BP 139", "700 avenue de Narvik BP 139"),
    ("112 R B DE LA CROIX BLANCHE", "112 bis rue de la Croix Blanche"),
    ("PL DE L'EGLISE", "Place de l'Église"),
    ("2 BD DU GAL DE GAULLE", "2 boulevard du Général de Gaulle"),
    ("12 R DU DR SCHWEITZER", "12 rue du Docteur Schweitzer"),
    ("244 R DU 8 MAI 1945", "244 rue du 8 mai 1945"),
    ("27 R DU MARECHAL JUIN", "27 rue du Maréchal Juin"),
    ("5 AV DU MAS D'AZIL", "5 avenue du Mas d'Azil"),
    ("18 R ST JOSEPH", "18 rue Saint-Joseph"),
    ("LD LE BENETOU", "Lieu-dit Le Benetou"),
    ("31 BD de Belfort", "31 boulevard de Belfort"),
    ("4 R DU LT THOMAS", "4 rue du Lieutenant Thomas"),
    ("5 R DU GEN CORDONNIER", "5 rue du Général Cordonnier"),
    ("115 AV DE LA 1ERE DIVISION BLINDEE", "115 avenue de la 1re Division Blindee"),
    ("8 R DE L ARRIVEE", "8 rue de l'Arrivée"),
    # COL is a mountain pass as often as a colonel: left as written
    ("520 AV DU COL DE CHEVRE", "520 avenue du Col de Chevre"),
    # R is a street type only where a street type stands
    ("BAT R 3 PL DU MARCHE", "Bâtiment R 3 place du Marché"),
])
def test_adresse_affichage(source, affiche):
    assert adresse_affichage(source) == affiche


def test_empty_and_missing_text_give_empty_display():
    assert nom_affichage(None) == ""
    assert adresse_affichage("   ") == ""


def test_unpaired_quote_is_dropped_paired_quotes_kept():
    assert sans_guillemets_csv('FOYER "LES PINS') == "FOYER LES PINS"
    assert sans_guillemets_csv('"CSAPA ""LES WADS"""') == 'CSAPA "LES WADS"'


def test_comparison_key_equal_for_source_and_typed_spelling():
    assert cle_comparaison("CTRE DE SANTE ST JEAN") == cle_comparaison("Centre de santé Saint-Jean")
    assert cle_comparaison("2 R DES CAPUCINS", adresse=True) == "2 rue des capucins"
    assert jetons('"CSAPA ""LES WADS"" METZ"') == ["CSAPA", "LES", "WADS", "METZ"]


def test_tables_are_keyed_by_unaccented_capitals():
    t = tables()
    for table in (t.sigles, t.abreviations, t.voies, t.titres, t.accents, t.en_tete_de_nom,
                  t.formes_juridiques):
        for key in table:
            assert key == key.upper() and key.isascii(), key
    assert {"CSAPA", "CMP", "CMPP", "CAARUD", "CEGIDD", "CPEF", "BAPU", "CHU"} <= set(t.sigles)


def test_quotes_left_in_an_address_are_dropped():
    assert adresse_affichage('CHE DES ROGATIONS "Lieu dit" "les abeilles" ""') == \
        "Chemin DES ROGATIONS Lieu dit les abeilles"
