package main

import (
	"fmt"
	"math"
	"strings"
)

// find returns the first row of group on side with w workers (0: any).
func (b *bench) find(group, side string, w int) *Row {
	for _, r := range b.rows {
		if r.Group == group && r.Side == side && r.Error == "" && (w == 0 || r.Workers == w) {
			return r
		}
	}
	return nil
}

// ratios fills the ratio and target columns once every row ran.
func (b *bench) ratios() {
	rate := func(r, of *Row, label, target string, least float64) {
		if r == nil || of == nil || of.Rate == 0 {
			return
		}
		r.Ratio = ptr(r.Rate / of.Rate)
		r.RatioOf, r.RatioWhat = of.Side+" "+of.Name+fmt.Sprintf(" W=%d", of.Workers), label
		if target != "" {
			r.Target = target
			r.Met = ptr(*r.Ratio >= least)
		}
	}
	river50 := b.find("burn-down", "river", 50)
	ours := b.find("burn-down", "ours", 0)
	rate(ours, river50, "units/s ours / River W=50", ">= 0.5x", 0.5)
	if ceil := b.find("burn-down", "river", 2000); ceil != nil && ours != nil {
		rate(ceil, ours, "units/s River W=2000 / ours", "", 0)
	}
	rate(b.find("chains", "ours", 0), b.find("chains", "river", 0), "steps/s ours / River", ">= 1.5x", 1.5)
	rate(b.find("dag", "ours", 0), b.find("dag", "river", 0), "steps/s ours / River", "", 0)
	if o, r := b.find("idle", "ours", 0), b.find("idle", "river", 0); o != nil && r != nil && o.HandoffP50MS != nil && r.HandoffP50MS != nil && *r.HandoffP50MS > 0 {
		o.Ratio = ptr(*o.HandoffP50MS / *r.HandoffP50MS)
		o.RatioOf, o.RatioWhat = "river "+r.Name, "handoff p50 ours / River (lower is better)"
		o.Target = "<= 1x, <= 2 ms"
		o.Met = ptr(*o.Ratio <= 1 && *o.HandoffP50MS <= 2)
	}
	var empty, full *Row
	for _, r := range b.rows {
		if r.Group == "claim" && r.Error == "" {
			if empty == nil {
				empty = r
			} else {
				full = r
			}
		}
	}
	if empty != nil && full != nil && full.HandoffP50MS != nil && *full.HandoffP50MS > 0 {
		full.Ratio = ptr(*empty.HandoffP50MS / *full.HandoffP50MS)
		full.RatioOf, full.RatioWhat = empty.Name, "claim speed with finished steps / empty (p50 empty / p50 full)"
		full.Target = ">= 0.95x"
		full.Met = ptr(*full.Ratio >= 0.95)
	}
	// External rows: compared with the Go row of the group they name.
	for _, r := range b.rows {
		to, _ := r.Extra["compare_to"].(string)
		if to == "" || r.Error != "" {
			continue
		}
		if to == "idle" {
			// The Go path's idle p50 is ~0 ms (the child is handed over at the
			// parent's commit), so a ratio to it says nothing: the Ruby worker
			// is held to the Go row's target, River's p50 and 2 ms.
			river := b.find("idle", "river", 0)
			if r.HandoffP50MS != nil && river != nil && river.HandoffP50MS != nil && *river.HandoffP50MS > 0 {
				r.Ratio = ptr(*r.HandoffP50MS / *river.HandoffP50MS)
				r.RatioOf, r.RatioWhat = "river "+river.Name, "handoff p50 / River's (lower is better)"
				r.Target = "<= 1x, <= 2 ms"
				r.Met = ptr(*r.Ratio <= 1 && *r.HandoffP50MS <= 2)
			}
			continue
		}
		goRow := b.find(to, "ours", 0)
		if goRow == nil {
			continue
		}
		rate(r, goRow, "units/s / the Go path's", ">= 0.9x", 0.9)
	}
}

// brief is the one-line progress report of a row.
func (r *Row) brief() string {
	s := fmt.Sprintf("%-6s %-34s %8d %s in %6.2f s = %8.0f/s", r.Side, r.Name, r.Units, r.UnitName, r.Seconds, r.Rate)
	if r.HandoffP50MS != nil {
		s += fmt.Sprintf(", handoff p50 %.2f ms p95 %.2f ms", *r.HandoffP50MS, *r.HandoffP95MS)
	}
	s += fmt.Sprintf(", %.2f round trips/unit", r.PerUnit.RoundTrips)
	if r.Disturbed {
		s += " [disturbed: " + r.DisturbedWhy + "]"
	}
	return s
}

type column struct {
	head  string
	right bool
	cell  func(r *Row) string
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

func fopt(v *float64, format string) string {
	if v == nil || math.IsNaN(*v) {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

func columns() []column {
	return []column{
		{"row", false, func(r *Row) string { return r.Name }},
		{"side", false, func(r *Row) string { return r.Side }},
		{"W", true, func(r *Row) string {
			if r.Workers == 0 {
				return "-"
			}
			return fmt.Sprint(r.Workers)
		}},
		{"units", true, func(r *Row) string { return fmt.Sprint(r.Units) }},
		{"s", true, func(r *Row) string { return fmt.Sprintf("%.2f", r.Seconds) }},
		{"units/s", true, func(r *Row) string {
			if r.Rate == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f", r.Rate)
		}},
		{"ratio", true, func(r *Row) string { return fopt(r.Ratio, "%.2fx") }},
		{"target", false, func(r *Row) string {
			switch {
			case r.Target == "":
				return ""
			case r.Met != nil && *r.Met:
				return r.Target + " ok"
			default:
				return r.Target + " MISS"
			}
		}},
		{"p50 ms", true, func(r *Row) string { return fopt(r.HandoffP50MS, "%.2f") }},
		{"p95 ms", true, func(r *Row) string { return fopt(r.HandoffP95MS, "%.2f") }},
		{"rep>run", true, func(r *Row) string { return fopt(r.ReportToRunP50MS, "%.2f") }},
		{"rt/u", true, func(r *Row) string { return fmt.Sprintf("%.2f", r.PerUnit.RoundTrips) }},
		{"xact/u", true, func(r *Row) string { return fmt.Sprintf("%.2f", r.PerUnit.Xacts) }},
		{"WAL B/u", true, func(r *Row) string { return fmt.Sprintf("%.0f", r.PerUnit.WALBytes) }},
		{"pg us/u", true, func(r *Row) string { return fmt.Sprintf("%.0f", r.PerUnit.PGCPUMicros) }},
		{"cl us/u", true, func(r *Row) string { return fmt.Sprintf("%.0f", r.PerUnit.ClientCPUMicros) }},
		{"cpu%", true, func(r *Row) string { return f1(r.MachineCPUPct) }},
		{"oth%", true, func(r *Row) string { return f1(r.OtherCPUPct) }},
		{"dist", false, func(r *Row) string {
			if r.Disturbed {
				return "YES"
			}
			return ""
		}},
	}
}

// table renders the rows as fixed-width text, then the notes.
func (b *bench) table() string {
	cols := columns()
	cells := make([][]string, 0, len(b.rows)+1)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.head
	}
	cells = append(cells, head)
	for _, r := range b.rows {
		line := make([]string, len(cols))
		for i, c := range cols {
			if r.Error != "" && i > 1 {
				if i == 2 {
					line[i] = "FAILED"
				}
				continue
			}
			line[i] = c.cell(r)
		}
		cells = append(cells, line)
	}
	width := make([]int, len(cols))
	for _, line := range cells {
		for i, c := range line {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var sb strings.Builder
	for n, line := range cells {
		for i, c := range line {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if cols[i].right {
				sb.WriteString(pad + c)
			} else {
				sb.WriteString(c + pad)
			}
			if i < len(line)-1 {
				sb.WriteString("  ")
			}
		}
		sb.WriteString("\n")
		if n == 0 {
			total := 0
			for _, w := range width {
				total += w + 2
			}
			sb.WriteString(strings.Repeat("-", total-2) + "\n")
		}
	}
	sb.WriteString(b.legend())
	sb.WriteString(b.notes())
	return sb.String()
}

func (b *bench) legend() string {
	return fmt.Sprintf(`
ratio: ours / River W=50 on rates; ceiling row: River W=2000 / ours; idle (Go and Ruby): handoff p50 ours / River
  (lower is better); claim: p50 empty / p50 full; rss: VmRSS at the last mark / the previous one.
p50/p95: handoff, the last parent's report durable -> the child's handler started (claim rows: one
  engine.DispatchClaim of 5 ready steps). rep>run: the parent's handler returned -> the child started
  (includes the parent's commit).
Per unit (u): rt round trips and xact transactions, counted client-side; WAL bytes (cluster-wide);
  pg: CPU of the postgres processes serving the bench's databases plus the server's background
  processes; cl: this process's CPU (and reaped children's). cpu%%: whole machine; oth%%: the rest.
dist YES: other processes used > %d%% of the machine, or steal > %d%%: compare undisturbed rows only.
`, otherLimitPct, stealLimitPct)
}

func (b *bench) notes() string {
	var sb strings.Builder
	for _, r := range b.rows {
		var ns []string
		if r.Error != "" {
			ns = append(ns, "FAILED: "+r.Error)
		}
		if r.Disturbed {
			ns = append(ns, "disturbed: "+r.DisturbedWhy)
		}
		ns = append(ns, r.Notes...)
		if len(ns) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "\n%s (%s):\n", r.Name, r.Side)
		for _, n := range ns {
			fmt.Fprintf(&sb, "  - %s\n", n)
		}
	}
	return sb.String()
}

// markdown renders the table for docs/PERFORMANCE.md.
func (b *bench) markdown(header string) string {
	cols := columns()
	var sb strings.Builder
	sb.WriteString("```\n" + strings.TrimSpace(header) + "\n```\n\n")
	sb.WriteString("|")
	for _, c := range cols {
		sb.WriteString(" " + c.head + " |")
	}
	sb.WriteString("\n|")
	for _, c := range cols {
		if c.right {
			sb.WriteString("---:|")
		} else {
			sb.WriteString("---|")
		}
	}
	sb.WriteString("\n")
	for _, r := range b.rows {
		sb.WriteString("|")
		for i, c := range cols {
			v := ""
			switch {
			case r.Error == "" || i < 2:
				v = c.cell(r)
			case i == 2:
				v = "FAILED"
			}
			sb.WriteString(" " + strings.ReplaceAll(v, "|", `\|`) + " |")
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\n" + strings.TrimSpace(b.notes()) + "\n")
	return sb.String()
}
