package taskertype

// Migration is one numbered schema change of the engine's tables.
type Migration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
}

// MigrateResult says what a migration run did.
type MigrateResult struct {
	Applied        []Migration `json:"applied"`
	CurrentVersion int         `json:"current_version"`
}
