"""The entity-search benchmark collection: questions judged by WordNet's relations, not its texts."""

from __future__ import annotations

from pathlib import Path

from app.core.measure.evaluation import load_beir
from tests.benchmarks.entities import build, plural

# WordNet 3.0 data.noun lines: offset, lexicographer file, type, word count (hex), words with
# their lexical ids, pointer count, pointers (symbol, offset, part of speech, source/target).
SYNSETS = """\
  1 This software and database is being provided to you, the LICENSEE, by Princeton University
00000001 06 n 01 river 0 000 | a large natural stream of water
00000002 06 n 01 city 0 000 | a large and densely populated urban area
00000003 06 n 01 country 0 000 | the territory occupied by a nation
00000004 06 n 01 band 0 000 | a group of musicians playing together
00000006 06 n 01 musician 0 000 | someone who plays a musical instrument
00000005 06 n 01 Spain 0 001 @i 00000003 n 0000 | a parliamentary monarchy in southwestern Europe
00000010 06 n 01 Ebro 0 002 @i 00000001 n 0000 #p 00000005 n 0000 | a river in northeastern Spain
00000011 06 n 02 Tagus 0 Tajo 0 002 @i 00000001 n 0000 #p 00000005 n 0000 | the longest Iberian river
00000012 06 n 01 Duero 0 002 @i 00000001 n 0000 #p 00000005 n 0000 | a river flowing west to the Atlantic
00000013 06 n 01 Madrid 0 002 @i 00000002 n 0000 #p 00000005 n 0000 | the capital and largest city of Spain
00000020 06 n 02 Beatles 0 the_Beatles 0 001 @i 00000004 n 0000 | an English rock group
00000021 06 n 02 Lennon 0 John_Lennon 0 002 @i 00000006 n 0000 #m 00000020 n 0000 | English rock star
00000022 06 n 02 McCartney 0 Paul_McCartney 0 002 @i 00000006 n 0000 #m 00000020 n 0000 | a rock musician
00000023 06 n 02 Harrison 0 George_Harrison 0 002 @i 00000006 n 0000 #m 00000020 n 0000 | a rock guitarist
00000030 06 n 01 kibble 0 000 | coarsely ground meal for dogs
"""


def test_questions_are_judged_by_relations(tmp_path: Path) -> None:
    data = tmp_path / "data.noun"
    data.write_text(SYNSETS, encoding="latin-1")
    n_docs, n_questions = build(tmp_path / "entities", data)
    corpus, queries, qrels = load_beir(tmp_path / "entities")
    assert n_docs == len(corpus) == 15 and n_questions == len(queries)
    # The rivers that are part of Spain, not its city, whatever the phrasing drawn.
    (lists,) = [q for q in queries if q.startswith("list-")]
    assert "rivers" in queries[lists] and "Spain" in queries[lists]
    assert set(qrels[lists]) == {"Ebro (00000010)", "Tagus (00000011)", "Duero (00000012)"}
    (group,) = [q for q in queries if q.startswith("member-")]
    assert "Beatles" in queries[group] and "the the" not in queries[group]
    assert len(qrels[group]) == 3 and all(doc in corpus for doc in qrels[group])
    # A name question's answer is every entity so named; its file is named by the entity.
    names = [q for q in queries if q.startswith("name-")]
    assert names and all(queries[q] in corpus[doc]["title"] + corpus[doc]["text"]
                         for q in names for doc in qrels[q])
    # Common concepts are distractors; an entity's other names are in its text.
    assert "kibble (00000030)" in corpus and not any("kibble (00000030)" in r for r in qrels.values())
    assert corpus["Tagus (00000011)"]["text"].startswith("Tajo: ")


def test_plural_of_a_kind() -> None:
    assert [plural(w) for w in ("city", "range", "church", "clergyman", "county of England")] == [
        "cities", "ranges", "churches", "clergymen", "counties of England"]
