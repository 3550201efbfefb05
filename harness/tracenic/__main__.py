"""`/usr/bin/python3 -m tracenic` (with harness/ on sys.path) is tracenic-cli."""
import sys

from .cli import main

sys.exit(main())
