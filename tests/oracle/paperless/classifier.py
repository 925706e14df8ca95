"""paperless-ngx's document type classifier, as src/documents/classifier.py builds it (without
NLTK, which paperless-ngx leaves off unless its data is installed): the text lower-cased, spaces
collapsed and non-word characters blanked; a CountVectorizer of words and word pairs with
min_df=0.01; an MLPClassifier(tol=0.01). paperless-ngx retrains it on a schedule (hourly), so the
stream here retrains every N filed documents.

Reads JSON lines {"label", "text"} in the order agents file them; for each, writes the type the
classifier trained on the documents before it predicts ({"predicted", "confidence"}, null before
the first training), then a summary line {"trainings", "train_seconds", "predict_seconds"}.
"""

import json
import re
import sys
import time

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.neural_network import MLPClassifier


def preprocess(content):
    content = content.lower().strip()
    content = re.sub(r"\s+", " ", content)
    return re.sub(r"[^\w\s]", " ", content)


def main():
    every = int(sys.argv[1])
    docs = [json.loads(line) for line in sys.stdin]
    texts = [preprocess(d["text"]) for d in docs]
    labels = [d["label"] for d in docs]
    vectorizer = classifier = None
    train_s = predict_s = 0.0
    trainings = 0
    for i in range(len(docs)):
        if i and i % every == 0 and len(set(labels[:i])) > 1:
            t = time.perf_counter()
            vectorizer = CountVectorizer(analyzer="word", ngram_range=(1, 2), min_df=0.01)
            x = vectorizer.fit_transform(texts[:i])
            classifier = MLPClassifier(tol=0.01, random_state=0)
            classifier.fit(x, labels[:i])
            train_s += time.perf_counter() - t
            trainings += 1
        if classifier is None:
            print(json.dumps({"predicted": None, "confidence": None}))
            continue
        t = time.perf_counter()
        x = vectorizer.transform([texts[i]])
        proba = classifier.predict_proba(x)[0]
        best = proba.argmax()
        predict_s += time.perf_counter() - t
        print(json.dumps({"predicted": str(classifier.classes_[best]), "confidence": float(proba[best])}))
    print(json.dumps({"trainings": trainings, "train_seconds": train_s, "predict_seconds": predict_s}))


main()
