import sys

from dcagent.cli import main

sys.exit(main())
