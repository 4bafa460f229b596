package atomicfile

// syncDir is a no-op on Windows: directories cannot be flushed there, and
// MoveFileEx (behind os.Rename) is durable enough for our state files.
func syncDir(string) error { return nil }
