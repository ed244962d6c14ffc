"""The fields of a small valid task, for tests that write or build one."""

TOY_TASK = {
    "name": "toy",
    "title": "Toy",
    "description": "A toy task.",
    "subjectivity": 2,
    "subjectivity_basis": "reconstructed",
    "subjectivity_note": "For tests.",
    "labels": {"pos": "the pos class", "neg": "the neg class"},
    "prompts": {"context": "You write.", "generation": "Write {description}."},
    "sources": [{"kind": "local", "path": "nowhere"}],
}
