from drmaa2cli.entry import main

main()
