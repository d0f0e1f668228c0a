"""Country names as sanctions lists and registers write them -> ISO 3166 alpha-2 codes."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["country_code"]


def _fold(name: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z]", " ", plain.lower()).split())


# Names the UN, OFAC and UK lists use, per ISO 3166 alpha-2 code. Deliberately small: a name that is
# not here is kept in the record's text fields and never guessed ("former Soviet Union", "Yugoslavia").
_COUNTRY_TABLE = """
AF Afghanistan | AL Albania | DZ Algeria | AO Angola | AR Argentina | AM Armenia | AU Australia
AT Austria | AZ Azerbaijan | BH Bahrain | BD Bangladesh | BY Belarus | BE Belgium | BZ Belize
BJ Benin | BO Bolivia; Bolivia (Plurinational State of) | BA Bosnia and Herzegovina | BR Brazil
BG Bulgaria | BF Burkina Faso | BI Burundi | KH Cambodia | CM Cameroon | CA Canada
CF Central African Republic | TD Chad | CL Chile | CN China | CO Colombia | CG Congo; Republic of the Congo
CD Democratic Republic of the Congo; Congo, Democratic Republic of the | CI Côte d'Ivoire
HR Croatia | CU Cuba | CY Cyprus | CZ Czech Republic; Czechia | DK Denmark | DJ Djibouti | EG Egypt
ER Eritrea | EE Estonia | ET Ethiopia | FI Finland | FR France | GA Gabon | GM Gambia | GE Georgia
DE Germany | GH Ghana | GR Greece | GN Guinea | GW Guinea-Bissau | HT Haiti | HK Hong Kong
HU Hungary | IN India | ID Indonesia | IR Iran; Iran (Islamic Republic of); Islamic Republic of Iran
IQ Iraq | IE Ireland | IL Israel | IT Italy | JP Japan | JO Jordan | KZ Kazakhstan | KE Kenya
KP Democratic People's Republic of Korea; Korea, North; North Korea | KR Republic of Korea; Korea, South
KW Kuwait | KG Kyrgyzstan | LA Lao People's Democratic Republic; Laos | LV Latvia | LB Lebanon
LY Libya | LT Lithuania | LU Luxembourg | MY Malaysia | MV Maldives | ML Mali | MT Malta
MR Mauritania | MX Mexico | MD Republic of Moldova; Moldova | MN Mongolia | ME Montenegro
MA Morocco | MZ Mozambique | MM Myanmar; Burma | NA Namibia | NL Netherlands | NZ New Zealand
NI Nicaragua | NE Niger | NG Nigeria | MK North Macedonia | NO Norway | OM Oman | PK Pakistan
PS State of Palestine; Palestinian Territories | PA Panama | PH Philippines | PL Poland | PT Portugal
QA Qatar | RO Romania | RU Russian Federation; Russia | RW Rwanda | SA Saudi Arabia | SN Senegal
RS Serbia | SL Sierra Leone | SG Singapore | SK Slovakia | SI Slovenia | SO Somalia
ZA South Africa | SS South Sudan | ES Spain | LK Sri Lanka | SD Sudan | SE Sweden | CH Switzerland
SY Syrian Arab Republic; Syria | TW Taiwan | TJ Tajikistan | TZ United Republic of Tanzania; Tanzania
TH Thailand | TG Togo | TN Tunisia | TR Turkey; Türkiye | TM Turkmenistan | UG Uganda | UA Ukraine
AE United Arab Emirates | GB United Kingdom; United Kingdom of Great Britain and Northern Ireland
US United States; United States of America | UY Uruguay | UZ Uzbekistan
VE Venezuela; Venezuela (Bolivarian Republic of) | VN Viet Nam; Vietnam | YE Yemen | ZM Zambia | ZW Zimbabwe
"""
_COUNTRIES = {
    _fold(name): entry.split(None, 1)[0]
    for entry in _COUNTRY_TABLE.replace("\n", "|").split("|")
    if entry.strip()
    for name in entry.split(None, 1)[1].split(";")
}


def country_code(name: str) -> str | None:
    """ISO alpha-2 for a country name the lists use, or None when the table does not know it."""
    return _COUNTRIES.get(_fold(name))
