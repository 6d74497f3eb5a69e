package jobs

import (
	"os"
	"strings"
	"time"
)

// ZoneSource is where the system's time zone is named: the TZ variable,
// the target of /etc/localtime, and /etc/timezone.
type ZoneSource interface {
	Getenv(key string) (string, bool)
	Readlink(name string) (string, error)
	ReadFile(name string) ([]byte, error)
}

// SystemZone reads the running system.
type SystemZone struct{}

func (SystemZone) Getenv(key string) (string, bool)     { return os.LookupEnv(key) }
func (SystemZone) Readlink(name string) (string, error) { return os.Readlink(name) }
func (SystemZone) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// LocalZone is the system's time zone by its IANA name, where Go's
// time.Local is only "Local": getScheduledJobs reports the name
// (ScheduledJob/timeZone), and a name means the same on every machine
// that reads it. It is, in order, the first that loads of: TZ (set but
// empty is UTC, as for Go), the zoneinfo file /etc/localtime links to,
// the name in /etc/timezone; else UTC (docs/job-logs.md, "Time zone").
func LocalZone(src ZoneSource) *time.Location {
	for _, name := range zoneCandidates(src) {
		if loc, err := time.LoadLocation(name); err == nil && name != "" && name != "Local" {
			return loc
		}
	}
	return time.UTC
}

func zoneCandidates(src ZoneSource) []string {
	var out []string
	if tz, ok := src.Getenv("TZ"); ok {
		tz = strings.TrimPrefix(strings.TrimSpace(tz), ":")
		if tz == "" {
			return []string{"UTC"}
		}
		out = append(out, zoneinfoName(tz))
	}
	if target, err := src.Readlink("/etc/localtime"); err == nil {
		out = append(out, zoneinfoName(target))
	}
	if b, err := src.ReadFile("/etc/timezone"); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		out = append(out, strings.TrimSpace(first))
	}
	return out
}

// zoneinfoName is the zone name in a path to a zoneinfo file
// ("/usr/share/zoneinfo/Europe/Paris" → "Europe/Paris"); a name is kept.
func zoneinfoName(p string) string {
	if _, after, ok := strings.Cut(p, "zoneinfo/"); ok {
		p = strings.TrimPrefix(after, "posix/")
	}
	return p
}
