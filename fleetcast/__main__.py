import sys

from fleetcast.cli import main

sys.exit(main())
