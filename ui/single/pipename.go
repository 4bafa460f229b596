package single

import "strings"

// PipePath returns the Windows named pipe of the user with this SID.
func PipePath(sid string) string {
	return `\\.\PIPE\rayfish-app-` + strings.Map(func(r rune) rune {
		if r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, sid)
}
