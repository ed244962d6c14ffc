"""``python -m synthclf COMMAND``: the ``synthclf`` command (see :mod:`synthclf.commands`)."""

from synthclf.commands import main

main()
