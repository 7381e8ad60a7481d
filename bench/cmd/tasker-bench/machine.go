package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on every Linux we
// run on; Go cannot call sysconf without cgo).
const clockTicks = 100

// cpuTimes is the machine-wide "cpu" line of /proc/stat, in ticks.
type cpuTimes struct {
	busy, idle, steal, total int64
}

func readCPUTimes() (cpuTimes, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	v := make([]int64, 0, 10)
	for _, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc/stat: %w", err)
		}
		v = append(v, n)
	}
	for len(v) < 10 {
		v = append(v, 0)
	}
	// user nice system idle iowait irq softirq steal guest guest_nice; guest
	// time is already counted in user.
	c := cpuTimes{
		busy:  v[0] + v[1] + v[2] + v[5] + v[6],
		idle:  v[3] + v[4],
		steal: v[7],
	}
	c.total = c.busy + c.idle + c.steal
	return c, nil
}

// procTicks returns utime+stime (and, with children, cutime+cstime) of
// /proc/<pid>/stat.
func procTicks(pid string, children bool) (int64, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no ')'", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state): utime is field 14, so f[11].
	last := 12
	if children {
		last = 14
	}
	var sum int64
	for _, s := range f[11 : last+1] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// pgProc is one postgres process: its CPU ticks and the database its
// backend serves ("" for the postmaster and background processes, "?" for
// a client backend of a database not ours).
type pgProc struct {
	ticks int64
	db    string
}

// readPostgres returns every process whose comm is "postgres", keyed by pid.
// A backend's title (its cmdline) names its database: "postgres: 15/main:
// user db 127.0.0.1(5432) idle"; ours maps our database names to themselves.
func readPostgres(ours map[string]bool) (map[string]pgProc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[string]pgProc{}
	for _, e := range entries {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", pid, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		ticks, err := procTicks(pid, false)
		if err != nil {
			continue // exited meanwhile
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		out[pid] = pgProc{ticks: ticks, db: classifyBackend(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})), ours)}
	}
	return out, nil
}

func classifyBackend(title string, ours map[string]bool) string {
	fields := strings.Fields(title)
	for _, f := range fields {
		if ours[f] {
			return f
		}
	}
	for _, f := range fields {
		// A client backend shows its peer: "127.0.0.1(41234)" or "[local]".
		if f == "[local]" || (strings.HasSuffix(f, ")") && strings.Contains(f, "(")) {
			return "?"
		}
	}
	return ""
}

// selfTicks is this process's CPU, including reaped children (the RSS worker
// and external rows).
func selfTicks() (int64, error) { return procTicks("self", true) }

// vmRSS returns VmRSS of /proc/self/status in bytes.
func vmRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(rest)
			if len(fs) != 2 || fs[1] != "kB" {
				return 0, fmt.Errorf("VmRSS: unexpected %q", rest)
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}

// machineInfo describes the machine for the report header.
type machineInfo struct {
	CPUModel string  `json:"cpu_model"`
	Cores    int     `json:"cores"`
	MemGiB   float64 `json:"mem_gib"`
	Kernel   string  `json:"kernel"`
	GoVer    string  `json:"go_version"`
}

func readMachineInfo() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), GoVer: runtime.Version()}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if fs := strings.Fields(rest); len(fs) > 0 {
					kb, _ := strconv.ParseFloat(fs[0], 64)
					m.MemGiB = kb / (1 << 20)
				}
			}
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	return m
}

// loadAvg1 returns the 1-minute load average.
func loadAvg1() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
