"""Getting data in: snapshot files, development datasets and yt-dlp. Returns records; never writes the DB."""
