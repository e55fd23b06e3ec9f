from voicenote_api.serve import main

main()
