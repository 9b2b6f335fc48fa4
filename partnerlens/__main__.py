import sys

from partnerlens.cli import main

sys.exit(main())
