from voicenote_ops.cli.app import main

main()
