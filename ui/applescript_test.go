package ui

import (
	"reflect"
	"testing"
)

func TestAdminShellScript(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/local/bin/ray", "start"}, `do shell script "'/usr/local/bin/ray' 'start'" with administrator privileges`},
		{[]string{"/Applications/My App/ray", "it's"}, `do shell script "'/Applications/My App/ray' 'it'\\''s'" with administrator privileges`},
		{[]string{`say "hi"`, `back\slash`}, `do shell script "'say \"hi\"' 'back\\slash'" with administrator privileges`},
	}
	for _, tt := range tests {
		if got := adminShellScript(tt.argv...); got != tt.want {
			t.Errorf("adminShellScript(%q)\n got %s\nwant %s", tt.argv, got, tt.want)
		}
	}
}

// TestMacStartDaemonCommand checks that "Start daemon" on macOS names ray by
// its absolute path: AppleScript's PATH lacks /usr/local/bin.
func TestMacStartDaemonCommand(t *testing.T) {
	name, args := macStartDaemonCommand()
	want := []string{"-e", `do shell script "'/usr/local/bin/ray' 'start'" with administrator privileges`}
	if name != "osascript" || !reflect.DeepEqual(args, want) {
		t.Errorf("macStartDaemonCommand() = %s %q, want osascript %q", name, args, want)
	}
}
