package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A meter tells how much of the machine other processes took while a
// measurement ran: all CPU time the kernel counted (/proc/stat) minus what
// this program, its children and the measured processes (the server, a
// database server) and their children used. On a shared machine a
// busy neighbour slows one side of a comparison and not the other; the
// report flags such rounds.
type meter struct {
	pids  []int
	start time.Time
	busy0 float64 // seconds of CPU, machine-wide
	ours0 float64
}

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100.0

func startMeter(pids ...int) *meter {
	m := &meter{pids: pids, start: time.Now()}
	m.busy0, m.ours0 = machineBusy(), m.ours()
	return m
}

// foreign returns the CPU seconds other processes used since the start and
// that as a share of the machine's capacity over the same time.
func (m *meter) foreign() (secs, share float64) {
	wall := time.Since(m.start).Seconds()
	secs = (machineBusy() - m.busy0) - (m.ours() - m.ours0)
	if secs < 0 {
		secs = 0
	}
	return secs, secs / (wall * float64(runtime.NumCPU()))
}

func (m *meter) String() string {
	secs, share := m.foreign()
	s := fmt.Sprintf("other processes: %.1f CPU-s (%.0f%% of the machine)", secs, 100*share)
	if share >= disturbedShare {
		s += " – DISTURBED"
	}
	return s
}

func (m *meter) ours() float64 {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	t := tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
	for _, pid := range m.pids {
		t += procTreeCPU(pid)
	}
	return t
}

// procTreeCPU is procCPU of pid and of its live children: PostgreSQL's
// backends are children of the postmaster, and their CPU reaches its
// cutime only once they exit.
func procTreeCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	t := procCPU(pid)
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return t
	}
	for _, d := range dirs {
		child, err := strconv.Atoi(d.Name())
		if err != nil || child == pid {
			continue
		}
		if parentPID(child) == pid {
			t += procCPU(child)
		}
	}
	return t
}

// parentPID is a live process's parent; 0 if it cannot be read.
func parentPID(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1]) // state(0) ppid(1)
	return ppid
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// machineBusy is the CPU seconds every CPU spent not idle since boot.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / clockTick
}

// procCPU is the user and system CPU seconds of a live process and its
// waited-for children.
func procCPU(pid int) float64 {
	f := statFields(pid)
	// After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14).
	if len(f) < 15 {
		return 0
	}
	var t float64
	for _, k := range []int{11, 12, 13, 14} {
		n, _ := strconv.ParseFloat(f[k], 64)
		t += n
	}
	return t / clockTick
}

// statFields are the fields of /proc/<pid>/stat after the command (whose
// name may hold spaces); nil when the process is gone.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}
