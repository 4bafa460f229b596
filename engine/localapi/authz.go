package localapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rayfish/rayfish/platform/ipc"
	"github.com/rayfish/rayfish/platform/seat"
)

// Grant names why a caller may change rayfish; it is written to the audit
// log with each change.
type Grant string

// Grants, in the order Authorize tries them.
const (
	GrantAdmin     Grant = "administrator"  // root, SYSTEM or an elevated Administrator
	GrantOperator  Grant = "operator"       // the configured operator (ray set-operator)
	GrantGroup     Grant = "group"          // Linux: group rayfish; darwin: group admin
	GrantAtMachine Grant = "at the machine" // active local session / console user / console session
)

// Authorize decides whether the local API caller c may change rayfish on
// the OS goos ("linux", "darwin", "windows"), given the configured operator
// and who is at the machine (m). Anyone may read; changes are for:
//
//   - root, SYSTEM or Administrators (c.IsAdmin);
//   - the operator, named as a user name or uid, or on Windows in any form
//     of the account's name: alice, HOST\alice, alice@domain or its SID;
//   - the person at the machine: on Linux the user of an active local
//     logind session and members of the group "rayfish"; on darwin the
//     console user and members of "admin"; on Windows the user whose
//     session is on the console.
//
// It returns why the caller may change, or an error that says in one line
// who may and how this user can be given the right.
func Authorize(goos string, c ipc.Cred, operator string, m seat.Machine) (Grant, error) {
	switch {
	case c.IsAdmin:
		return GrantAdmin, nil
	case isOperator(goos, c, operator):
		return GrantOperator, nil
	}
	switch goos {
	case "linux", "darwin":
		if m.IsPresent(c.UID) {
			return GrantAtMachine, nil
		}
		if m.GroupGID >= 0 && hasGID(c.GIDs, m.GroupGID) {
			return GrantGroup, nil
		}
	case "windows":
		if c.Session != 0 && m.ConsoleSession != seat.NoSession && c.Session == m.ConsoleSession {
			return GrantAtMachine, nil
		}
	}
	return "", refusal(goos, c)
}

// refusal is the one-line answer to a caller that may not change rayfish.
func refusal(goos string, c ipc.Cred) error {
	name := c.Username
	switch {
	case name != "":
	case c.SID != "":
		name = c.SID
	default:
		name = strconv.Itoa(c.UID)
	}
	switch goos {
	case "linux":
		return fmt.Errorf(`only the person at this computer or members of the "rayfish" group can change rayfish; ask an administrator to run: sudo usermod -aG rayfish %s`, name)
	case "darwin":
		return fmt.Errorf("only the person at this Mac or an administrator can change rayfish; ask an administrator to run: sudo ray set-operator %s", name)
	case "windows":
		return fmt.Errorf("only the person signed in at this computer or an administrator can change rayfish; ask an administrator to run in an elevated prompt: ray set-operator %s", name)
	}
	return fmt.Errorf("only root or the operator can change rayfish; ask an administrator to run: sudo ray set-operator %s", name)
}

func hasGID(gids []int, gid int) bool {
	for _, g := range gids {
		if g == gid {
			return true
		}
	}
	return false
}

// isOperator reports whether c is the configured operator.
func isOperator(goos string, c ipc.Cred, operator string) bool {
	operator = strings.TrimSpace(operator)
	if operator == "" {
		return false
	}
	if goos == "windows" {
		return windowsNameMatches(operator, c.Username, c.SID)
	}
	return (c.Username != "" && operator == c.Username) || operator == strconv.Itoa(c.UID)
}

// windowsNameMatches reports whether name (alice, HOST\alice, alice@domain
// or a SID) names the account whose DOMAIN\user is account and whose SID is
// sid. Windows account names are case-insensitive. A name with a domain
// must match that domain too; a UPN's DNS domain matches by its first label
// (alice@corp.example.com is CORP\alice).
func windowsNameMatches(name, account, sid string) bool {
	if sid != "" && strings.EqualFold(name, sid) {
		return true
	}
	if strings.HasPrefix(strings.ToUpper(name), "S-1-") {
		return false // a SID that is not this account's
	}
	dom, user, ok := strings.Cut(account, `\`)
	if !ok {
		dom, user = "", account
	}
	if user == "" {
		return false
	}
	if d, u, ok := strings.Cut(name, `\`); ok {
		return strings.EqualFold(u, user) && strings.EqualFold(d, dom)
	}
	if u, d, ok := strings.Cut(name, "@"); ok {
		first, _, _ := strings.Cut(d, ".")
		return strings.EqualFold(u, user) && (strings.EqualFold(d, dom) || strings.EqualFold(first, dom))
	}
	return strings.EqualFold(name, user)
}
