"""Given names that are one name in neighbouring languages (Russian, Belarusian, Ukrainian forms).

A Belarusian passport says Piatro and Ihar where a Russian court writes Pyotr and Igor; no spelling rule
turns one into the other, so they are listed here, one group a line, in any romanisation (each spelling
is reduced to its key). Only East Slavic and Russified Central Asian forms: names that merely translate
each other across Western languages (Peter, Pierre) are different names on official documents.
"""

from __future__ import annotations

from functools import lru_cache

from watcher.match.keys import key
from watcher.match.translit import readings

GROUPS = """
pyotr petr piotr piatro petro pyatro
igor ihar ihor
aleksandr aliaksandr oleksandr alexandr aleksander aliaksandar
aleksei aleksey alexei alexey aliaksei oleksii oleksiy aleksiy
vladimir uladzimir volodymyr uladzimer
nikolai nikolay mikalai mykola
sergei sergey siarhei serhii serhiy sierhiej
dmitry dmitri dmitriy dzmitry dzmitryi zmitser dmytro
yevgeny evgeny evgeniy yauhen yevhen yauheni
andrei andrey andrii andriy andrej andrew
mikhail mikhaylo mykhailo mikhal mikhas
grigory grigoriy ryhor hryhorii hryhoriy
vasily vasiliy vasil vasyl vasili
pavel paval pavlo
yury yuri yuriy yurii yurij
konstantin kanstantsin kostiantyn kostyantyn
anatoly anatoliy anatol anatolii
viktor viktar
roman raman
leonid leanid
fyodor fedor fiodar fedir
stepan stsiapan
maksim maxim maksym
kirill kiryl kyrylo
denis dzianis denys
yaroslav yaraslau
stanislav stanislau
vyacheslav viachaslau viacheslav
oleg aleh oleh
ivan ivan
mikhail mikhail
ilya illia ilia
yakov yakau
yekaterina ekaterina katsiaryna kateryna katerina
yelena elena alena olena
olga volha olha
natalia natalya natallia nataliia
tatyana tatiana tatsiana tetiana
svetlana sviatlana svitlana
anna hanna ganna
irina iryna
maria mariya maryia mariia maryja
yulia yuliya yulija
lyudmila liudmila liudmyla
galina halina halyna
nadezhda nadzeya nadiia nadia
lyubov liubou liubov
valentina valiantsina valentyna
yusuf yousef youssef yusef youcef yossef
muhammad mohammed mohamed mohammad muhammed mohamad
hussein hossein husayn husein hosein
ahmad ahmed akhmed achmed
mahmoud mahmud mahmood
mustafa mostafa moustafa
omar umar
othman uthman osman usman
ibrahim ebrahim brahim
ismail esmail ismayil
abdullah abdallah abdulla abdalla
jamal gamal djamal
jamil gamil djamil
gamaleddin jamaleddin
""".strip()


def _build() -> dict[str, int]:
    groups: dict[str, int] = {}
    for number, line in enumerate(GROUPS.splitlines()):
        for name in line.split():
            for reading in readings(name):
                groups.setdefault(key(reading), number)
    return groups


_GROUPS = _build()


@lru_cache(maxsize=65536)
def group_of(k: str) -> int | None:
    """The cognate group of a token key, if it is a listed given name."""
    return _GROUPS.get(k)
