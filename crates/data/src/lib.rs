//! Folders of MIDI files → token shards (`prepare`).
