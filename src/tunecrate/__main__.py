from tunecrate.cli.app import main

main()
