package local.billing.kbserver;

import java.rmi.RemoteException;
import java.util.Collections;
import java.util.Set;

import javax.servlet.ServletContext;

import org.killbill.billing.account.glue.DefaultAccountModule;
import org.killbill.billing.beatrix.glue.BeatrixModule;
import org.killbill.billing.catalog.glue.CatalogModule;
import org.killbill.billing.currency.glue.CurrencyModule;
import org.killbill.billing.entitlement.glue.DefaultEntitlementModule;
import org.killbill.billing.invoice.glue.DefaultInvoiceModule;
import org.killbill.billing.jaxrs.glue.DefaultJaxrsModule;
import org.killbill.billing.jaxrs.resources.TestResource;
import org.killbill.billing.jaxrs.util.KillbillEventHandler;
import org.killbill.billing.junction.glue.DefaultJunctionModule;
import org.killbill.billing.osgi.api.Healthcheck;
import org.killbill.billing.osgi.api.OSGIServiceRegistration;
import org.killbill.billing.osgi.api.ServiceDiscoveryRegistry;
import org.killbill.billing.overdue.glue.DefaultOverdueModule;
import org.killbill.billing.payment.glue.PaymentModule;
import org.killbill.billing.platform.api.KillbillConfigSource;
import org.killbill.billing.platform.jndi.JNDIManager;
import org.killbill.billing.server.config.KillbillServerConfig;
import org.killbill.billing.server.modules.KillbillPlatformModule;
import org.killbill.billing.subscription.glue.DefaultSubscriptionModule;
import org.killbill.billing.tenant.glue.DefaultTenantModule;
import org.killbill.billing.usage.glue.UsageModule;
import org.killbill.billing.util.config.definition.JaxrsConfig;
import org.killbill.billing.util.email.templates.TemplateModule;
import org.killbill.billing.util.features.KillbillFeatures;
import org.killbill.billing.util.glue.AuditModule;
import org.killbill.billing.util.glue.BroadcastModule;
import org.killbill.billing.util.glue.CacheModule;
import org.killbill.billing.util.glue.CallContextModule;
import org.killbill.billing.util.glue.ClockModule;
import org.killbill.billing.util.glue.ConfigModule;
import org.killbill.billing.util.glue.CustomFieldModule;
import org.killbill.billing.util.glue.EventModule;
import org.killbill.billing.util.glue.ExportModule;
import org.killbill.billing.util.glue.GlobalLockerModule;
import org.killbill.billing.util.glue.IDBISetup;
import org.killbill.billing.util.glue.KillBillShiroAopModule;
import org.killbill.billing.util.glue.KillbillApiAopModule;
import org.killbill.billing.util.glue.NodesModule;
import org.killbill.billing.util.glue.NonEntityDaoModule;
import org.killbill.billing.util.glue.RecordIdModule;
import org.killbill.billing.util.glue.SecurityModule;
import org.killbill.billing.util.glue.TagStoreModule;
import org.killbill.billing.util.optimizer.BusDispatcherOptimizer;
import org.killbill.billing.util.optimizer.BusDispatcherOptimizerNoop;
import org.killbill.billing.util.optimizer.BusDispatcherOptimizerOn;
import org.killbill.billing.util.optimizer.BusOptimizer;
import org.killbill.billing.util.optimizer.BusOptimizerNoop;
import org.killbill.billing.util.optimizer.BusOptimizerOn;
import org.killbill.clock.Clock;
import org.killbill.clock.ClockMock;
import org.skife.config.AugmentedConfigurationObjectFactory;
import org.skife.jdbi.v2.ResultSetMapperFactory;
import org.skife.jdbi.v2.tweak.ArgumentFactory;
import org.skife.jdbi.v2.tweak.ResultSetMapper;
import org.skife.jdbi.v2.tweak.SQLLog;
import org.skife.jdbi.v2.tweak.StatementBuilderFactory;
import org.skife.jdbi.v2.tweak.StatementRewriter;

import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.OptionalBinder;
import com.google.inject.util.Providers;

/**
 * Guice wiring of the billing modules on top of the platform module (DAO, buses, queues, OSGI, metrics).
 * Left out on purpose: push notifications, swagger, profiling and the JAX-RS read-only DB routing (the CORS
 * response filter is mapped by KbServerListener, as stock maps it).
 */
public class KbServerModule extends KillbillPlatformModule {

    /** RMI registry port of the platform's JNDI manager (the platform default is 1099). */
    static final String JNDI_PORT_PROPERTY = "local.kbserver.jndi.port";

    private final KillbillFeatures features = new KillbillFeatures();

    public KbServerModule(final ServletContext servletContext, final KillbillServerConfig serverConfig, final KillbillConfigSource configSource) {
        super(servletContext, serverConfig, configSource);
    }

    @Override
    protected void configure() {
        super.configure();
        installBillingModules();
        bind(KillbillEventHandler.class).asEagerSingleton();
        bind(new TypeLiteral<OSGIServiceRegistration<Healthcheck>>() {}).to(KbHealthcheckRegistry.class).asEagerSingleton();
        // Optional injection points of the platform (javax @Inject + @Nullable) need explicit defaults under Guice 5.
        OptionalBinder.newOptionalBinder(binder(), new TypeLiteral<Set<ServiceDiscoveryRegistry>>() {}).setDefault().toInstance(Collections.emptySet());
        OptionalBinder.newOptionalBinder(binder(), new TypeLiteral<Set<ArgumentFactory>>() {}).setDefault().toInstance(Collections.emptySet());
        OptionalBinder.newOptionalBinder(binder(), SQLLog.class).setDefault().toProvider(Providers.of(null));
        OptionalBinder.newOptionalBinder(binder(), StatementBuilderFactory.class).setDefault().toProvider(Providers.of(null));
        OptionalBinder.newOptionalBinder(binder(), StatementRewriter.class).setDefault().toProvider(Providers.of(null));
    }

    @Override
    protected void configureBuses() {
        super.configureBuses();
        if (features.isBusOptimizationOn()) {
            bind(BusOptimizer.class).to(BusOptimizerOn.class).asEagerSingleton();
            bind(BusDispatcherOptimizer.class).to(BusDispatcherOptimizerOn.class).asEagerSingleton();
        } else {
            bind(BusOptimizer.class).to(BusOptimizerNoop.class).asEagerSingleton();
            bind(BusDispatcherOptimizer.class).to(BusDispatcherOptimizerNoop.class).asEagerSingleton();
        }
    }

    @Override
    protected void configureDao() {
        super.configureDao();
        final Multibinder<ResultSetMapperFactory> factories = Multibinder.newSetBinder(binder(), ResultSetMapperFactory.class);
        for (final ResultSetMapperFactory factory : IDBISetup.mapperFactoriesToRegister()) {
            factories.addBinding().toInstance(factory);
        }
        final Multibinder<ResultSetMapper> mappers = Multibinder.newSetBinder(binder(), ResultSetMapper.class);
        for (final ResultSetMapper mapper : IDBISetup.mappersToRegister()) {
            mappers.addBinding().toInstance(mapper);
        }
    }

    @Override
    protected void configureClock() {
        if (serverConfig.isTestModeEnabled()) {
            bind(Clock.class).to(ClockMock.class).asEagerSingleton();
            bind(TestResource.class).asEagerSingleton();
        } else {
            install(new ClockModule(configSource));
        }
    }

    @Override
    protected void configureJNDI() {
        final int port = Integer.getInteger(JNDI_PORT_PROPERTY, 1099);
        try {
            bind(JNDIManager.class).toInstance(new JNDIManager(port));
        } catch (final RemoteException e) {
            throw new IllegalStateException("Cannot start the RMI registry on port " + port, e);
        }
    }

    private void installBillingModules() {
        install(new AuditModule(configSource));
        install(new NodesModule(configSource));
        install(new BroadcastModule(configSource));
        install(new BeatrixModule(configSource));
        install(new CacheModule(configSource));
        install(new ConfigModule(configSource));
        install(new EventModule(configSource));
        install(new CallContextModule(configSource));
        install(new CatalogModule(configSource));
        install(new CurrencyModule(configSource));
        install(new CustomFieldModule(configSource));
        install(new DefaultAccountModule(configSource));
        install(new DefaultEntitlementModule(configSource));
        install(new DefaultInvoiceModule(configSource));
        install(new DefaultJunctionModule(configSource));
        install(new DefaultOverdueModule(configSource));
        install(new DefaultSubscriptionModule(configSource));
        install(new ExportModule(configSource));
        install(new GlobalLockerModule(configSource));
        install(new KillBillShiroAopModule(configSource));
        final JaxrsConfig jaxrsConfig = new AugmentedConfigurationObjectFactory(skifeConfigSource).build(JaxrsConfig.class);
        install(new KillbillApiAopModule(jaxrsConfig));
        install(new KbShiroWebModule(servletContext, skifeConfigSource));
        install(new NonEntityDaoModule(configSource));
        install(new PaymentModule(configSource));
        install(new RecordIdModule(configSource));
        install(new SecurityModule(configSource));
        install(new TagStoreModule(configSource));
        install(new TemplateModule(configSource));
        install(new DefaultTenantModule(configSource));
        install(new UsageModule(configSource));
        install(new DefaultJaxrsModule(configSource));
    }
}
