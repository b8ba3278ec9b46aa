namespace HealthEvents.Application.Patients;

/// <summary>Clinical content of an entry as sealed into events: the display text of the code and the note.</summary>
public sealed record EntryContent(string? Display, string Text);

public sealed record CodeInput(string System, string Code, string? Display);
