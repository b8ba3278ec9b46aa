using System.Reflection;
using System.Text.Json;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests;

public class EventTypeTests
{
    private static readonly Type[] EventTypes =
    [
        .. typeof(PatientDecider).Assembly.GetTypes()
            .Where(type => typeof(IEvent).IsAssignableFrom(type) && type.IsClass),
    ];

    [Fact]
    public void Every_event_has_a_unique_versioned_type_name()
    {
        Assert.NotEmpty(EventTypes);
        var names = EventTypes.Select(type => (type, name: type.GetCustomAttribute<EventTypeAttribute>()?.Name)).ToList();

        Assert.All(names, entry => Assert.Matches(@"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.v\d+$", entry.name ?? $"{entry.type.Name} has none"));
        Assert.Equal(names.Count, names.Select(entry => entry.name).Distinct().Count());
    }

    [Fact]
    public void Every_event_class_is_sealed() =>
        Assert.All(EventTypes, type => Assert.True(type.IsSealed, $"{type.Name} is not sealed"));

    [Fact]
    public void Role_names_in_grants_match_the_wire_names()
    {
        // Role grantees are compared by KebabCase; the API serialises roles with KebabCaseLower.
        foreach (var role in Enum.GetValues<Role>())
        {
            Assert.Equal(JsonNamingPolicy.KebabCaseLower.ConvertName(role.ToString()), KebabCase.Of(role));
            Assert.True(KebabCase.TryParse<Role>(KebabCase.Of(role), out var parsed) && parsed == role);
        }
        Assert.Equal("lab-results", KebabCase.Of(Category.LabResults));
    }
}
