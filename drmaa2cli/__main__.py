from drmaa2cli.cli.entry import main

main()
