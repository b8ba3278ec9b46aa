global using HealthEvents.Domain.Common;
global using NetworkSpec = HealthEvents.Domain.Tests.Spec<
    HealthEvents.Domain.Network.NetworkDecider,
    HealthEvents.Domain.Network.NetworkState,
    HealthEvents.Domain.Network.INetworkCommand,
    HealthEvents.Domain.Network.INetworkEvent>;
global using PatientSpec = HealthEvents.Domain.Tests.Spec<
    HealthEvents.Domain.Patients.PatientDecider,
    HealthEvents.Domain.Patients.PatientState,
    HealthEvents.Domain.Patients.IPatientCommand,
    HealthEvents.Domain.Patients.IPatientEvent>;
global using FoundingSpec = HealthEvents.Domain.Tests.Spec<
    HealthEvents.Domain.Network.NetworkFoundingDecider,
    HealthEvents.Domain.Network.NetworkState,
    HealthEvents.Domain.Network.INetworkCommand,
    HealthEvents.Domain.Network.INetworkEvent>;
