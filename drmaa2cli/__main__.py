from drmaa2cli.cli import main

main()
