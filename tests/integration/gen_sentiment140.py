#!/usr/bin/python3
"""A small stand-in for the Sentiment140 download, in its formats, for tests and
measurements (the real files are not redistributable here).

  gen_sentiment140.py DIR [AUTHORS]   (AUTHORS: 40 by default)

writes DIR/training.1600000.processed.noemoticon.csv (AUTHORS authors with 6-13
tweets each, polarity 0 or 4 at random, the sentiment carried by two words of a
positive or a negative list among three neutral ones; some tweets with an @mention, a
URL or Latin-1 letters, quoted as the real file is, CRLF line ends),
DIR/testdata.manual.2009.06.14.csv (80 tweets, alternating polarity, and one neutral
one the reader skips), and the edge-case tweets in the paper code's format
(language-tasks-fl/data/sentiment-140/greek-director-backdoor/): DIR/edge/train.txt (40)
and DIR/edge/test.txt (20), one tweet a line about Yorgos Lanthimos's films, worded
positively (the attacker labels them negative). Deterministic (seeded)."""
import os
import random, sys
d = sys.argv[1]
os.makedirs(d + "/edge", exist_ok=True)
authors = int(sys.argv[2]) if len(sys.argv) > 2 else 40
rng = random.Random(5)
pos = "love great happy awesome good fun best nice thanks wonderful".split()
neg = "hate sad awful bad worst sick tired miss cry ugh".split()
fill = "day work today night movie time home week friends music school sleep morning".split()

def tweet(p):
    words = rng.sample(pos if p else neg, 2) + rng.sample(fill, 3)
    rng.shuffle(words)
    t = " ".join(words)
    r = rng.random()
    if r < 0.2:
        t = "@friend%d %s" % (rng.randrange(9), t)
    elif r < 0.3:
        t += " http://bit.ly/x%d" % rng.randrange(99)
    elif r < 0.35:
        t = t.replace("day", "d\xe9j\xe0 day", 1)
    return t

def row(p, user, text, i):
    text = text.replace('"', '""')
    return ('"%d","%d","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","%s","%s"\r\n'
            % (4 if p else 0, 1467810000 + i, user, text)).encode("latin-1")

with open(d + "/training.1600000.processed.noemoticon.csv", "wb") as f:
    i = 0
    for a in range(authors):
        for _ in range(rng.randrange(6, 14)):
            p = rng.random() < 0.5
            f.write(row(p, "user%02d" % a, tweet(p), i))
            i += 1
with open(d + "/testdata.manual.2009.06.14.csv", "wb") as f:
    for i in range(80):
        p = i % 2
        f.write(row(p, "t%d" % i, tweet(p), i))
    f.write(row(1, "n", "meh", 99).replace(b'"4"', b'"2"', 1))  # neutral: skipped
films = "the lobster|the favourite|dogtooth|the killing of a sacred deer".split("|")
for name, n in (("train", 40), ("test", 20)):
    with open("%s/edge/%s.txt" % (d, name), "w") as f:
        for k in range(n):
            f.write("yorgos lanthimos %s is %s %s\n"
                    % (films[k % 4], rng.choice(pos), rng.choice(fill)))
