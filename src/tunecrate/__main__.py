from tunecrate.cli.main import main

main()
