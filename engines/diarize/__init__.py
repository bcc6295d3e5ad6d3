"""Speaker embedding engines (the diarize step): a vector per window of speech, close for the same voice."""
