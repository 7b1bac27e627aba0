from byokgate.cli import main

main()
