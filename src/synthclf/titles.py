"""Display names of training sources and classifiers, shared by the report and the PR comment
(which must not pay for the report's plotting imports)."""

SOURCE_TITLES = {"real": "Real", "zero_shot": "Zero-shot", "few_shot": "Few-shot", "attributed": "Attributed", "grounded": "Grounded"}
CLASSIFIER_TITLES = {"encoder": "fine-tuned encoder", "tfidf_lr": "TF-IDF + logistic regression"}
