package ipc

import "strings"

// pipePrefix is how a local named pipe's path starts, in the case the
// object manager's DOS-device link is spelled.
const pipePrefix = `\\.\PIPE\`

// canonicalPipe returns path with its `\\.\pipe\` prefix written in upper
// case. Windows looks object names up ignoring case, but the named pipe
// library creates the pipe through NtCreateNamedPipeFile without
// OBJ_CASE_INSENSITIVE, and Wine honours that: `\??\pipe\...` is then "Path
// not found" there, while `\??\PIPE\...` resolves everywhere. Pipe names
// themselves are case-insensitive, so clients dialling either spelling
// reach the same pipe. Other paths are returned unchanged.
func canonicalPipe(path string) string {
	if len(path) > len(pipePrefix) && strings.EqualFold(path[:len(pipePrefix)], pipePrefix) {
		return pipePrefix + path[len(pipePrefix):]
	}
	return path
}
