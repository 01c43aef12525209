import sys

from danet_viewer.cli import main

sys.exit(main())
