package taskertype

import "github.com/goccy/go-json"

// TemplateSpec is a task template as registered: a named, versioned DAG of
// steps. Registering the same namespace/name/version twice with the same shape
// is a no-op; with a different shape it is a TemplateConflictError.
type TemplateSpec struct {
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// IdentityStrategy defaults to strict.
	IdentityStrategy IdentityStrategy `json:"identity_strategy,omitempty"`
	// ContextSchema is an optional JSON Schema every task's context must satisfy.
	ContextSchema json.RawMessage `json:"context_schema,omitempty"`
	Steps         []StepSpec      `json:"steps"`
}

// StepSpec is one step of a template.
type StepSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Handler names the handler that runs the step (a Ruby class name).
	Handler       string          `json:"handler"`
	HandlerConfig json.RawMessage `json:"handler_config,omitempty"`
	DependsOn     []string        `json:"depends_on,omitempty"`
	// Retryable defaults to true. A step that is not retryable runs once.
	Retryable *bool `json:"retryable,omitempty"`
	// RetryLimit is the most attempts the step gets, as in the original Tasker
	// (default 3). The first attempt always runs, whatever the limit.
	RetryLimit *int `json:"retry_limit,omitempty"`
	// TimeoutSeconds bounds one attempt of the step; past it the attempt fails
	// as a retryable timeout. Unset means the worker's default.
	TimeoutSeconds *int `json:"timeout_seconds,omitempty"`
}

// DefaultRetryLimit is the retry_limit of a step that does not set one.
const DefaultRetryLimit = 3

// RetryableOrDefault returns the step's retryable flag, true when unset.
func (s StepSpec) RetryableOrDefault() bool { return s.Retryable == nil || *s.Retryable }

// RetryLimitOrDefault returns the step's retry limit, DefaultRetryLimit when unset.
func (s StepSpec) RetryLimitOrDefault() int {
	if s.RetryLimit == nil {
		return DefaultRetryLimit
	}
	return *s.RetryLimit
}

// TemplateResult describes a registered template.
type TemplateResult struct {
	NamedTaskID int64  `json:"named_task_id"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	StepCount   int    `json:"step_count"`
	// Created is false when an identical template was already registered.
	Created bool `json:"created"`
}

// TemplateKey names one registered template version.
type TemplateKey struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Version   string `json:"version"`
}

func (k TemplateKey) String() string { return k.Namespace + "/" + k.Name + "@" + k.Version }
