#!/usr/bin/env python
from anfang.__main__ import main

if __name__ == "__main__":
    main()
