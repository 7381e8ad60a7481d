package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-json"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// render prints every task of the run as the database has it: a header per
// task, then its steps indented by dependency level, each with its state,
// attempts, the duration of its last attempt and what it produced. It returns
// how many tasks did not complete.
func (d *demo) render(ctx context.Context, w io.Writer) (incomplete int, err error) {
	fmt.Fprintln(w, "Tasks (steps indented by dependency level; duration: last attempt, claim to result):")
	for _, o := range d.order {
		st, err := d.eng.TaskStatus(ctx, o.taskID)
		if err != nil {
			return 0, err
		}
		levels, err := d.eng.DependencyLevels(ctx, o.taskID)
		if err != nil {
			return 0, err
		}
		level := map[int64]int{}
		for _, l := range levels {
			level[l.WorkflowStepID] = l.DependencyLevel
		}
		steps := st.Steps // template order
		sort.SliceStable(steps, func(i, j int) bool { return level[steps[i].WorkflowStepID] < level[steps[j].WorkflowStepID] })

		mark := "✓"
		if st.Status != tt.TaskComplete {
			mark = "✗"
			incomplete++
		}
		took := ""
		if st.CompletedAt != nil {
			took = fmt.Sprintf(" in %d ms", st.CompletedAt.Sub(st.RequestedAt).Milliseconds())
		}
		fmt.Fprintf(w, "\n%s %s  task %d  %s%s  %s (%s), %s, %s to %s\n", mark, o.OrderID, st.TaskID, st.Status, took,
			o.Customer.Name, o.Customer.Tier, plural(units(o), "item"), o.Shipping.Method, o.Shipping.Country)

		width := 0
		for _, s := range steps {
			width = max(width, 2*level[s.WorkflowStepID]+len(s.Name))
		}
		for _, s := range steps {
			name := strings.Repeat("  ", level[s.WorkflowStepID]) + s.Name
			dur := "-"
			if s.DurationMS != nil {
				dur = strconv.FormatInt(*s.DurationMS, 10) + " ms"
			}
			line := fmt.Sprintf("    %-*s  %-17s  %-10s  %7s  %s", width, name, s.Status, plural(s.Attempts, "attempt"), dur, detail(&s))
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	return incomplete, nil
}

func units(o *order) int {
	n := 0
	for _, it := range o.Items {
		n += it.Quantity
	}
	return n
}

// detail says in a few words what a step produced, or why it failed or
// was retried.
func detail(s *tt.WorkflowStep) string {
	var parts []string
	if s.Status == tt.StepComplete || s.Status == tt.StepResolvedManually {
		switch s.Name {
		case "validate_order":
			var p pricing
			if json.Unmarshal(s.Results, &p) == nil {
				ship := money(p.ShippingCents)
				if p.ShippingCents == 0 {
					ship = "free"
				}
				parts = append(parts, fmt.Sprintf("total %s (tax %s, shipping %s)", money(p.TotalCents), money(p.TaxCents), ship))
			}
		case "reserve_inventory":
			var r reservation
			if json.Unmarshal(s.Results, &r) == nil {
				parts = append(parts, fmt.Sprintf("%s, %s held", r.ReservationID, plural(len(r.Lines), "line")))
			}
		case "process_payment":
			var p payment
			if json.Unmarshal(s.Results, &p) == nil {
				parts = append(parts, fmt.Sprintf("%s %s %s", p.PaymentID, p.Status, money(p.AmountCents)))
			}
		case "ship_order":
			var sh shipment
			if json.Unmarshal(s.Results, &sh) == nil {
				parts = append(parts, fmt.Sprintf("%s %s %s, arrives %s", sh.Carrier, sh.Service, sh.TrackingNumber, sh.EstimatedDelivery))
			}
		}
	}
	if len(s.LastError) > 0 && string(s.LastError) != "null" {
		var e struct {
			Class   string `json:"class"`
			Message string `json:"message"`
			Attempt int    `json:"attempt"`
		}
		if json.Unmarshal(s.LastError, &e) == nil {
			if s.Status == tt.StepComplete {
				parts = append(parts, fmt.Sprintf("retried after attempt %d: %s: %s", e.Attempt, e.Class, e.Message))
			} else {
				parts = append(parts, fmt.Sprintf("%s: %s", e.Class, e.Message))
			}
		}
	}
	return strings.Join(parts, "; ")
}

// money formats cents as dollars with thousands separators.
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, whole, cents%100)
}
