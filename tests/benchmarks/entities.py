"""An entity-search collection from WordNet: short questions about people, places and things.

    apt-get install wordnet-base        # WordNet 3.0's data files (/usr/share/wordnet)
    python -m tests.benchmarks.entities [OUT]     # OUT defaults to $SIFT_STUDY/entities-src
    sift eval OUT --keep $SIFT_STUDY/entities --no-rerank

Documents are WordNet's 7,730 named entities (instance synsets: people, places, works, groups),
each a file named by the entity ("Ebro (09403734).txt") holding its other names and its gloss, among
about 21,000 common concepts as a library of articles would hold them ("river", "city", "range"
and 20,000 others drawn at random). The questions and their judgements come from WordNet's
relations, not from the texts:

- 150 lists, "<type> in <place>" ("which rivers are in Spain?"): the instances of a type that are
  part of a place, for pairs with 3-40 members (four phrasings, drawn at random);
- every group with 3-40 members, "members of the <group>" (its member holonyms);
- 100 names (one of an entity's names; every entity so named is relevant).

A gloss often names the place ("a river in northeastern Spain") and always its kind in other
words, so words and meaning both carry evidence; which is stronger varies by question.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

WORDNET = Path("/usr/share/wordnet/data.noun")
SEED = 7
CONCEPTS = 20_000
LISTS = 150
NAMES = 100
FORMS = ("{t} in {p}", "which {t} are in {p}?", "{t} located in {p}", "list of {t} in {p}")
GROUP_FORMS = ("members of the {g}", "who belongs to the {g}?", "{g} members")


def read(path: Path = WORDNET) -> dict[str, dict]:
    """WordNet's noun synsets by offset: words, noun pointers (symbol, offset) and gloss."""
    synsets = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        head, _, gloss = line.partition(" | ")
        f = head.split()
        n = int(f[3], 16)
        words = [re.sub(r"\(.*?\)", "", f[4 + 2 * i]).replace("_", " ").strip() for i in range(n)]
        k = 4 + 2 * n
        ptrs = [(f[k + 1 + 4 * i], f[k + 2 + 4 * i]) for i in range(int(f[k]))
                if f[k + 3 + 4 * i] == "n"]
        synsets[f[0]] = dict(words=words, ptrs=ptrs, gloss=gloss.strip())
    return synsets


def plural(phrase: str) -> str:
    """English plural of a noun phrase's head ("range" → "ranges", "city of X" → "cities of X")."""
    head, sep, rest = phrase.partition(" of ")
    *first, last = head.split(" ")
    if re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    elif re.search(r"(s|x|z|ch|sh)$", last):
        last += "es"
    elif last.endswith("man"):
        last = last[:-3] + "men"
    else:
        last += "s"
    return " ".join([*first, last]) + (sep + rest if sep else "")


def build(out: Path, path: Path = WORDNET) -> tuple[int, int]:
    """Write the collection (BEIR layout) to ``out``; (documents, questions)."""
    s = read(path)
    rng = random.Random(SEED)
    inst = {o: v for o, v in s.items() if any(p == "@i" for p, _ in v["ptrs"])}
    types = {h for v in inst.values() for p, h in v["ptrs"] if p == "@i"}
    above = {h for t in types for p, h in s[t]["ptrs"] if p == "@"}
    rest = sorted(o for o in s if o not in inst and o not in types and o not in above)
    docs = sorted(set(inst) | types | above | set(rng.sample(rest, min(CONCEPTS, len(rest)))))
    ids = {o: f"{s[o]['words'][0]} ({o})".replace("/", " ") for o in docs}

    def name(o: str) -> str:
        return s[o]["words"][0]

    queries: dict[str, str] = {}
    qrels: dict[str, set[str]] = defaultdict(set)
    in_place = defaultdict(set)
    for o, v in inst.items():
        for kind in (h for p, h in v["ptrs"] if p == "@i"):
            for place in (y for p, y in v["ptrs"] if p == "#p"):
                in_place[(kind, place)].add(o)
    pairs = sorted(k for k, m in in_place.items() if 3 <= len(m) <= 40)
    for kind, place in rng.sample(pairs, min(LISTS, len(pairs))):
        qid = f"list-{kind}-{place}"
        queries[qid] = rng.choice(FORMS).format(t=plural(name(kind)), p=name(place))
        qrels[qid] = in_place[(kind, place)]
    members = defaultdict(set)
    for o, v in inst.items():
        for group in (h for p, h in v["ptrs"] if p == "#m"):
            members[group].add(o)
    for group, held in sorted(members.items()):
        if 3 <= len(held) <= 40:
            g = re.sub(r"^the ", "", name(group), flags=re.IGNORECASE)
            queries[f"member-{group}"] = rng.choice(GROUP_FORMS).format(g=g)
            qrels[f"member-{group}"] = held
    named = defaultdict(set)
    for o, v in inst.items():
        for w in v["words"]:
            named[w.casefold()].add(o)
    for o in rng.sample(sorted(inst), min(NAMES, len(inst))):
        w = rng.choice(inst[o]["words"])
        queries[f"name-{o}"] = w
        qrels[f"name-{o}"] = named[w.casefold()]

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for o in docs:
            first, *others = s[o]["words"]
            text = (", ".join(others) + ": " if others else "") + s[o]["gloss"]
            f.write(json.dumps(dict(_id=ids[o], title=first, text=text)) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid, text in queries.items():
            f.write(json.dumps(dict(_id=qid, text=text)) + "\n")
    with open(out / "qrels.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, held in qrels.items():
            f.writelines(f"{qid}\t{ids[o]}\t1\n" for o in sorted(held))
    return len(docs), len(queries)


if __name__ == "__main__":
    if not WORDNET.exists():
        sys.exit(f"{WORDNET} is missing: apt-get install wordnet-base")
    work = Path(os.environ.get("SIFT_STUDY", "/tmp/sift-eval"))
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else work / "entities-src"
    n_docs, n_queries = build(target)
    print(f"{target}: {n_docs:,} documents, {n_queries} questions")
