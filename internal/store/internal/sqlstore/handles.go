package sqlstore

import (
	"strconv"
	"strings"

	"golang.org/x/text/cases"
)

// Handles keep the IPS shapes (company "c|7", asset "a|7|42", image format
// "7|301") so logs and greps written against IPS keep working. The company
// id is repeated in company-owned handles; a lookup checks it against the
// company handle it is given, so another company's handle is never found.
// Job ("j|7|42") and schedule ("s|7|3") handles follow the same shape; they
// are made of [A-Za-z0-9|_.-] only, as job handles must be (docs/wire.md, "Handles"), and
// a lookup without a company still checks the row's company against the
// handle's, so each row has exactly one handle.

func companyHandle(id int64) string { return "c|" + itoa(id) }
func userHandle(id int64) string    { return "u|" + itoa(id) }
func folderHandle(companyID, id int64) string {
	return "f|" + itoa(companyID) + "|" + itoa(id)
}
func assetHandle(companyID, id int64) string { return "a|" + itoa(companyID) + "|" + itoa(id) }
func formatHandle(companyID, id int64) string {
	return itoa(companyID) + "|" + itoa(id)
}
func jobHandle(companyID, id int64) string      { return "j|" + itoa(companyID) + "|" + itoa(id) }
func scheduleHandle(companyID, id int64) string { return "s|" + itoa(companyID) + "|" + itoa(id) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// parseID parses a canonical positive decimal id: digits only, no sign, no
// leading zero, so each row has exactly one handle.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func parseCompany(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "c|")
	if !ok {
		return 0, false
	}
	return parseID(rest)
}

func parseUser(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "u|")
	if !ok {
		return 0, false
	}
	return parseID(rest)
}

// parseOwned parses "<prefix><companyid>|<id>" and checks the company id.
func parseOwned(h, prefix string, companyID int64) (int64, bool) {
	cid, id, ok := parseOwnedAny(h, prefix)
	if !ok || cid != companyID {
		return 0, false
	}
	return id, true
}

// parseOwnedAny parses "<prefix><companyid>|<id>" of whatever company.
func parseOwnedAny(h, prefix string) (companyID, id int64, ok bool) {
	rest, ok := strings.CutPrefix(h, prefix)
	if !ok {
		return 0, 0, false
	}
	c, i, ok := strings.Cut(rest, "|")
	if !ok {
		return 0, 0, false
	}
	if companyID, ok = parseID(c); !ok {
		return 0, 0, false
	}
	if id, ok = parseID(i); !ok {
		return 0, 0, false
	}
	return companyID, id, true
}

func parseFolder(h string, companyID int64) (int64, bool) { return parseOwned(h, "f|", companyID) }
func parseAsset(h string, companyID int64) (int64, bool)  { return parseOwned(h, "a|", companyID) }
func parseFormat(h string, companyID int64) (int64, bool) { return parseOwned(h, "", companyID) }

// parseJob and parseSchedule return the company id the handle names too:
// workers look jobs up without a company.
func parseJob(h string) (companyID, id int64, ok bool)      { return parseOwnedAny(h, "j|") }
func parseSchedule(h string) (companyID, id int64, ok bool) { return parseOwnedAny(h, "s|") }

// fold is the case-insensitive key of a name. It is computed here rather
// than in SQL so that both databases agree on Unicode (SQLite's lower() and
// NOCASE only know ASCII). A Caser is not safe for concurrent use, hence one
// per call.
func fold(s string) string { return cases.Fold().String(s) }
