package localapi

import (
	"strings"
	"testing"

	"github.com/rayfish/rayfish/platform/ipc"
	"github.com/rayfish/rayfish/platform/seat"
)

func TestAuthorize(t *testing.T) {
	const rayfishGID, adminGID = 990, 80
	nobody := seat.Machine{GroupGID: -1, ConsoleSession: seat.NoSession}
	linux := seat.Machine{GroupGID: rayfishGID, ConsoleSession: seat.NoSession}
	alice := ipc.Cred{UID: 1000, GIDs: []int{1000}, Username: "alice"}
	aliceGroup := ipc.Cred{UID: 1000, GIDs: []int{1000, 27, rayfishGID}, Username: "alice"}
	bob := ipc.Cred{UID: 1001, GIDs: []int{1001}, Username: "bob"}
	root := ipc.Cred{UID: 0, GIDs: []int{0}, Username: "root", IsAdmin: true}
	winAlice := ipc.Cred{UID: -1, Username: `HOST\alice`, SID: "S-1-5-21-1-2-3-1001", Session: 1}
	winAdmin := ipc.Cred{UID: -1, Username: `HOST\admin`, SID: "S-1-5-21-1-2-3-500", Session: 2, IsAdmin: true}
	winSystem := ipc.Cred{UID: -1, Username: `NT AUTHORITY\SYSTEM`, SID: "S-1-5-18", IsAdmin: true}
	console := func(s uint32) seat.Machine { return seat.Machine{GroupGID: -1, ConsoleSession: s} }
	present := func(gid int, uids ...int) seat.Machine {
		return seat.Machine{Present: uids, GroupGID: gid, ConsoleSession: seat.NoSession}
	}

	tests := []struct {
		name     string
		goos     string
		cred     ipc.Cred
		operator string
		m        seat.Machine
		want     Grant // "" = refused
	}{
		// Linux.
		{"linux root", "linux", root, "", nobody, GrantAdmin},
		{"linux operator by name", "linux", bob, "bob", nobody, GrantOperator},
		{"linux operator by uid", "linux", bob, "1001", nobody, GrantOperator},
		{"linux operator is someone else", "linux", bob, "alice", linux, ""},
		{"linux member of rayfish", "linux", aliceGroup, "", linux, GrantGroup},
		{"linux not a member", "linux", alice, "", linux, ""},
		{"linux no rayfish group", "linux", aliceGroup, "", nobody, ""},
		{"linux active local session", "linux", alice, "", present(rayfishGID, 1000), GrantAtMachine},
		{"linux someone else's session", "linux", bob, "", present(rayfishGID, 1000), ""},
		{"linux ssh user, nobody present", "linux", bob, "", linux, ""},
		{"linux Windows name forms do not apply", "linux", alice, `HOST\alice`, nobody, ""},
		{"linux operator name is exact", "linux", alice, "Alice", nobody, ""},
		{"linux empty username never matches empty operator", "linux", ipc.Cred{UID: 1005}, "", linux, ""},
		// darwin.
		{"darwin root", "darwin", root, "", nobody, GrantAdmin},
		{"darwin console user", "darwin", alice, "", present(adminGID, 1000), GrantAtMachine},
		{"darwin not the console user", "darwin", bob, "", present(adminGID, 1000), ""},
		{"darwin member of admin", "darwin", ipc.Cred{UID: 502, GIDs: []int{20, adminGID, 12}, Username: "carol"}, "", present(adminGID, 501), GrantGroup},
		{"darwin operator", "darwin", bob, "bob", present(adminGID, 1000), GrantOperator},
		// Windows.
		{"windows SYSTEM", "windows", winSystem, "", console(1), GrantAdmin},
		{"windows elevated admin", "windows", winAdmin, "", console(1), GrantAdmin},
		{"windows console user", "windows", winAlice, "", console(1), GrantAtMachine},
		{"windows remote desktop session", "windows", winAlice, "", console(3), ""},
		{"windows no console session", "windows", winAlice, "", console(seat.NoSession), ""},
		{"windows session 0 is never the console user", "windows", ipc.Cred{UID: -1, Username: `HOST\svc`, Session: 0}, "", console(0), ""},
		{"windows operator bare name", "windows", winAlice, "alice", console(3), GrantOperator},
		{"windows operator bare name, other case", "windows", winAlice, "ALICE", console(3), GrantOperator},
		{"windows operator HOST\\alice", "windows", winAlice, `host\Alice`, console(3), GrantOperator},
		{"windows operator other domain", "windows", winAlice, `CORP\alice`, console(3), ""},
		{"windows operator alice@host", "windows", winAlice, "alice@HOST", console(3), GrantOperator},
		{"windows operator UPN by first label", "windows", ipc.Cred{UID: -1, Username: `CORP\alice`, SID: "S-1-5-21-9-9-9-1104"}, "alice@corp.example.com", console(3), GrantOperator},
		{"windows operator UPN other domain", "windows", winAlice, "alice@corp.example.com", console(3), ""},
		{"windows operator SID", "windows", winAlice, "s-1-5-21-1-2-3-1001", console(3), GrantOperator},
		{"windows operator other SID", "windows", winAlice, "S-1-5-21-1-2-3-1002", console(3), ""},
		{"windows operator other user", "windows", winAlice, "bob", console(3), ""},
		{"windows operator with blanks", "windows", winAlice, " alice ", console(3), GrantOperator},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Authorize(tt.goos, tt.cred, tt.operator, tt.m)
			if got != tt.want {
				t.Fatalf("Authorize = %q, %v; want %q", got, err, tt.want)
			}
			if (err == nil) != (tt.want != "") {
				t.Fatalf("err = %v with grant %q", err, got)
			}
		})
	}
}

func TestRefusalMessages(t *testing.T) {
	tests := []struct {
		goos string
		cred ipc.Cred
		want string
	}{
		{"linux", ipc.Cred{UID: 1001, Username: "bob"}, `only the person at this computer or members of the "rayfish" group can change rayfish; ask an administrator to run: sudo usermod -aG rayfish bob`},
		{"darwin", ipc.Cred{UID: 502, Username: "bob"}, `only the person at this Mac or an administrator can change rayfish; ask an administrator to run: sudo ray set-operator bob`},
		{"windows", ipc.Cred{UID: -1, Username: `HOST\bob`}, `only the person signed in at this computer or an administrator can change rayfish; ask an administrator to run in an elevated prompt: ray set-operator HOST\bob`},
		{"freebsd", ipc.Cred{UID: 1001}, `only root or the operator can change rayfish; ask an administrator to run: sudo ray set-operator 1001`},
		{"windows", ipc.Cred{UID: -1, SID: "S-1-5-21-1-2-3-1001"}, `only the person signed in at this computer or an administrator can change rayfish; ask an administrator to run in an elevated prompt: ray set-operator S-1-5-21-1-2-3-1001`},
	}
	for _, tt := range tests {
		_, err := Authorize(tt.goos, tt.cred, "", seat.Machine{GroupGID: -1, ConsoleSession: seat.NoSession})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: refusal %v, want %q", tt.goos, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: refusal spans lines", tt.goos)
		}
	}
}
