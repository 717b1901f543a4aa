"""The packaged app's entry point: PyInstaller runs this file as __main__.

Everything happens in app.main.main(), which calls multiprocessing.freeze_support() first so
that the PDF worker process, spawned from this same executable, starts correctly.
"""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
