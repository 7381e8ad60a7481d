package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/goccy/go-json"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// orderTemplate is the workflow: validate, then reserve stock and take
// payment in parallel, then ship once both are done.
func orderTemplate() *tt.TemplateSpec {
	three := 3
	return &tt.TemplateSpec{
		Namespace:        namespace,
		Name:             templateName,
		Version:          templateVersion,
		Description:      "Validate an order, reserve its stock and take payment in parallel, then ship it",
		IdentityStrategy: tt.IdentityCallerProvided,
		ContextSchema: json.RawMessage(`{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"type": "object",
			"required": ["order_id", "customer", "items"],
			"properties": {
				"order_id": {"type": "string", "pattern": "^ORD-[0-9]+$"},
				"customer": {
					"type": "object",
					"required": ["id", "name", "email"],
					"properties": {
						"id": {"type": "string"},
						"name": {"type": "string", "minLength": 1},
						"email": {"type": "string", "format": "email"},
						"tier": {"enum": ["standard", "gold", "platinum"]}
					}
				},
				"items": {
					"type": "array",
					"minItems": 1,
					"items": {
						"type": "object",
						"required": ["sku", "quantity", "unit_price"],
						"properties": {
							"sku": {"type": "string"},
							"quantity": {"type": "integer", "minimum": 1},
							"unit_price": {"type": "number", "exclusiveMinimum": 0}
						}
					}
				},
				"shipping": {
					"type": "object",
					"properties": {
						"method": {"enum": ["ground", "express", "overnight"]},
						"country": {"type": "string", "minLength": 2, "maxLength": 2}
					}
				}
			}
		}`),
		Steps: []tt.StepSpec{
			{
				Name: "validate_order", Handler: "ValidateOrderHandler",
				Description:   "Check the order's lines and price it",
				HandlerConfig: json.RawMessage(`{"tax_rate": 0.0825, "max_line_items": 25, "currency": "USD", "free_shipping_over_cents": 5000}`),
			},
			{
				Name: "reserve_inventory", Handler: "ReserveInventoryHandler", DependsOn: []string{"validate_order"},
				Description:   "Hold stock for every line",
				HandlerConfig: json.RawMessage(`{"warehouse": "PDX-1", "reservation_ttl_minutes": 30}`),
			},
			{
				Name: "process_payment", Handler: "ProcessPaymentHandler", DependsOn: []string{"validate_order"},
				Description:   "Authorize and capture the order total",
				HandlerConfig: json.RawMessage(`{"gateway": "sandbox-pay", "capture": true, "timeout_ms": 2000}`),
				RetryLimit:    &three,
			},
			{
				Name: "ship_order", Handler: "ShipOrderHandler", DependsOn: []string{"reserve_inventory", "process_payment"},
				Description:   "Buy a label and hand the parcel to the carrier",
				HandlerConfig: json.RawMessage(`{"carrier": "UPS", "transit_days": {"ground": 5, "express": 2, "overnight": 1}}`),
			},
		},
	}
}

type customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Tier  string `json:"tier"`
}

type item struct {
	SKU       string  `json:"sku"`
	Quantity  int     `json:"quantity"`
	UnitPrice float64 `json:"unit_price"`
}

type shipping struct {
	Method  string `json:"method"`
	Country string `json:"country"`
}

// order is a task's context; taskID and steps are this run's bookkeeping.
type order struct {
	OrderID  string   `json:"order_id"`
	Customer customer `json:"customer"`
	Items    []item   `json:"items"`
	Shipping shipping `json:"shipping"`

	taskID int64
	steps  int
}

func demoOrders() []*order {
	return []*order{
		{OrderID: "ORD-1001", Customer: customer{ID: "C-301", Name: "Ada Lovelace", Email: "ada@example.com", Tier: "gold"},
			Items:    []item{{"BOOK-ANALYTICAL-ENGINE", 1, 39.5}, {"PENCIL-HB-12", 2, 4.25}},
			Shipping: shipping{"ground", "GB"}},
		{OrderID: "ORD-1002", Customer: customer{ID: "C-302", Name: "Alan Turing", Email: "alan@example.com", Tier: "standard"},
			Items:    []item{{"CHESS-SET-WALNUT", 1, 129}},
			Shipping: shipping{"express", "GB"}},
		{OrderID: flakyOrder, Customer: customer{ID: "C-303", Name: "Grace Hopper", Email: "grace@example.com", Tier: "platinum"},
			Items:    []item{{"NANOSECOND-WIRE-30CM", 12, 1.99}, {"COBOL-HANDBOOK", 1, 54}, {"LAPTOP-STAND", 1, 89.95}},
			Shipping: shipping{"overnight", "US"}},
		{OrderID: "ORD-1004", Customer: customer{ID: "C-304", Name: "Edsger Dijkstra", Email: "edsger@example.com", Tier: "standard"},
			Items:    []item{{"FOUNTAIN-PEN-MONTBLANC", 1, 310}},
			Shipping: shipping{"ground", "NL"}},
		{OrderID: "ORD-1005", Customer: customer{ID: "C-305", Name: "Barbara Liskov", Email: "barbara@example.com", Tier: "gold"},
			Items:    []item{{"MECH-KEYBOARD-TKL", 1, 149}, {"KEYCAP-SET-PBT", 1, 65}, {"USB-C-CABLE-2M", 3, 12.5}},
			Shipping: shipping{"express", "US"}},
		{OrderID: "ORD-1006", Customer: customer{ID: "C-306", Name: "Donald Knuth", Email: "don@example.com", Tier: "standard"},
			Items:    []item{{"TAOCP-BOXED-SET", 1, 219.99}, {"CHECK-HEX-DOLLAR", 1, 2.56}},
			Shipping: shipping{"ground", "US"}},
	}
}

// RetryableError asks for another attempt, after BackoffSeconds when set
// (the Go stand-in for TaskerCore::RetryableError).
type RetryableError struct {
	Class          string
	Message        string
	BackoffSeconds float64
}

func (e *RetryableError) Error() string { return e.Message }

// PermanentError fails the step for good (TaskerCore::PermanentError).
type PermanentError struct{ Message string }

func (e *PermanentError) Error() string { return e.Message }

type handlerFunc func(ctx context.Context, s *tt.ClaimedStep) (any, error)

// handlers are instantiated once and looked up by the template's handler
// name, as the gem does with its pre-instantiated step handlers.
var handlers = map[string]handlerFunc{
	"ValidateOrderHandler":    validateOrder,
	"ReserveInventoryHandler": reserveInventory,
	"ProcessPaymentHandler":   processPayment,
	"ShipOrderHandler":        shipOrder,
}

// callHandler runs a step's handler; a missing handler or a panic is a
// permanent failure of the step, never a crash of the worker.
func callHandler(ctx context.Context, s *tt.ClaimedStep) (results any, err error) {
	h := handlers[s.Handler]
	if h == nil {
		return nil, &PermanentError{Message: fmt.Sprintf("no handler registered for %q", s.Handler)}
	}
	defer func() {
		if r := recover(); r != nil {
			results, err = nil, &PermanentError{Message: fmt.Sprintf("handler %s panicked: %v", s.Handler, r)}
		}
	}()
	return h(ctx, s)
}

// pricing is validate_order's results, read by the steps after it.
type pricing struct {
	OrderID       string `json:"order_id"`
	CustomerID    string `json:"customer_id"`
	LineItems     int    `json:"line_items"`
	Units         int    `json:"units"`
	SubtotalCents int64  `json:"subtotal_cents"`
	TaxCents      int64  `json:"tax_cents"`
	ShippingCents int64  `json:"shipping_cents"`
	TotalCents    int64  `json:"total_cents"`
	Currency      string `json:"currency"`
}

type reservation struct {
	ReservationID string            `json:"reservation_id"`
	Warehouse     string            `json:"warehouse"`
	ExpiresAt     string            `json:"expires_at"`
	Lines         []reservationLine `json:"lines"`
}

type reservationLine struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Bin      string `json:"bin"`
}

type payment struct {
	PaymentID   string `json:"payment_id"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	Gateway     string `json:"gateway"`
	Attempt     int    `json:"attempt"`
}

type shipment struct {
	TrackingNumber    string `json:"tracking_number"`
	Carrier           string `json:"carrier"`
	Service           string `json:"service"`
	EstimatedDelivery string `json:"estimated_delivery"`
	ReservationID     string `json:"reservation_id"`
	PaymentID         string `json:"payment_id"`
}

func validateOrder(ctx context.Context, s *tt.ClaimedStep) (any, error) {
	var cfg struct {
		TaxRate               float64 `json:"tax_rate"`
		MaxLineItems          int     `json:"max_line_items"`
		Currency              string  `json:"currency"`
		FreeShippingOverCents int64   `json:"free_shipping_over_cents"`
	}
	var o order
	if err := decode(s, &cfg, &o); err != nil {
		return nil, err
	}
	work(ctx, 20, 60)
	if len(o.Items) > cfg.MaxLineItems {
		return nil, &PermanentError{Message: fmt.Sprintf("order %s has %d lines, at most %d are accepted", o.OrderID, len(o.Items), cfg.MaxLineItems)}
	}
	p := pricing{OrderID: o.OrderID, CustomerID: o.Customer.ID, LineItems: len(o.Items), Currency: cfg.Currency}
	for _, it := range o.Items {
		p.Units += it.Quantity
		p.SubtotalCents += int64(it.Quantity) * int64(math.Round(it.UnitPrice*100))
	}
	p.TaxCents = int64(math.Round(float64(p.SubtotalCents) * cfg.TaxRate))
	switch o.Shipping.Method {
	case "express":
		p.ShippingCents = 1499
	case "overnight":
		p.ShippingCents = 2999
	default:
		if p.SubtotalCents < cfg.FreeShippingOverCents {
			p.ShippingCents = 599
		}
	}
	p.TotalCents = p.SubtotalCents + p.TaxCents + p.ShippingCents
	return p, nil
}

func reserveInventory(ctx context.Context, s *tt.ClaimedStep) (any, error) {
	var cfg struct {
		Warehouse  string `json:"warehouse"`
		TTLMinutes int    `json:"reservation_ttl_minutes"`
	}
	var o order
	if err := decode(s, &cfg, &o); err != nil {
		return nil, err
	}
	var p pricing
	if err := dependency(s, "validate_order", &p); err != nil {
		return nil, err
	}
	work(ctx, 40, 120)
	r := reservation{
		ReservationID: fmt.Sprintf("RSV-%s-%d", cfg.Warehouse, s.TaskID),
		Warehouse:     cfg.Warehouse,
		ExpiresAt:     time.Now().Add(time.Duration(cfg.TTLMinutes) * time.Minute).UTC().Format(time.RFC3339),
	}
	for _, it := range o.Items {
		h := fnv.New32a()
		h.Write([]byte(it.SKU))
		n := h.Sum32()
		r.Lines = append(r.Lines, reservationLine{it.SKU, it.Quantity, fmt.Sprintf("A%02d-S%d-B%02d", n%40+1, n/40%6+1, n/240%20+1)})
	}
	return r, nil
}

func processPayment(ctx context.Context, s *tt.ClaimedStep) (any, error) {
	var cfg struct {
		Gateway   string `json:"gateway"`
		Capture   bool   `json:"capture"`
		TimeoutMS int    `json:"timeout_ms"`
	}
	var o order
	if err := decode(s, &cfg, &o); err != nil {
		return nil, err
	}
	var p pricing
	if err := dependency(s, "validate_order", &p); err != nil {
		return nil, err
	}
	if o.OrderID == flakyOrder && s.Attempts == 1 {
		work(ctx, 50, 80)
		return nil, &RetryableError{Class: "PaymentGatewayTimeout", BackoffSeconds: 1,
			Message: fmt.Sprintf("%s did not answer within %d ms (HTTP 504)", cfg.Gateway, cfg.TimeoutMS)}
	}
	work(ctx, 50, 150)
	status := "authorized"
	if cfg.Capture {
		status = "captured"
	}
	return payment{
		PaymentID:   fmt.Sprintf("PAY-%08X", rand.Uint32()),
		AmountCents: p.TotalCents, Currency: p.Currency, Status: status, Gateway: cfg.Gateway, Attempt: s.Attempts,
	}, nil
}

func shipOrder(ctx context.Context, s *tt.ClaimedStep) (any, error) {
	var cfg struct {
		Carrier     string         `json:"carrier"`
		TransitDays map[string]int `json:"transit_days"`
	}
	var o order
	if err := decode(s, &cfg, &o); err != nil {
		return nil, err
	}
	var r reservation
	var pay payment
	if err := dependency(s, "reserve_inventory", &r); err != nil {
		return nil, err
	}
	if err := dependency(s, "process_payment", &pay); err != nil {
		return nil, err
	}
	if pay.Status != "captured" {
		return nil, &PermanentError{Message: fmt.Sprintf("payment %s is %s, not captured: not shipping", pay.PaymentID, pay.Status)}
	}
	work(ctx, 30, 100)
	service := o.Shipping.Method
	if service == "" {
		service = "ground"
	}
	return shipment{
		TrackingNumber:    fmt.Sprintf("1Z%03X%012d", rand.IntN(1<<12), rand.Int64N(1e12)),
		Carrier:           cfg.Carrier,
		Service:           service,
		EstimatedDelivery: time.Now().AddDate(0, 0, cfg.TransitDays[service]).Format("Mon 2 Jan"),
		ReservationID:     r.ReservationID,
		PaymentID:         pay.PaymentID,
	}, nil
}

// decode reads a step's handler_config and its task's context.
func decode(s *tt.ClaimedStep, cfg any, o *order) error {
	if err := json.Unmarshal(s.HandlerConfig, cfg); err != nil {
		return &PermanentError{Message: "handler_config: " + err.Error()}
	}
	if err := json.Unmarshal(s.TaskContext, o); err != nil {
		return &PermanentError{Message: "task context: " + err.Error()}
	}
	return nil
}

// dependency reads the results of a parent step (the claim carries them).
func dependency(s *tt.ClaimedStep, step string, v any) error {
	raw, ok := s.DependencyResults[step]
	if !ok {
		return &PermanentError{Message: fmt.Sprintf("no results from %s", step)}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &PermanentError{Message: fmt.Sprintf("results of %s: %v", step, err)}
	}
	return nil
}

// work stands in for real I/O: a sleep of lo..hi milliseconds.
func work(ctx context.Context, lo, hi int) {
	sleep(ctx, time.Duration(lo+rand.IntN(hi-lo+1))*time.Millisecond)
}
