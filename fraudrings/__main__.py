from fraudrings.cli import main

main()
