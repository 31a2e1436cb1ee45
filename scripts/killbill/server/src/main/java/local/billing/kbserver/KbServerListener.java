package local.billing.kbserver;

import java.io.IOException;
import java.net.URISyntaxException;
import java.util.Map;

import javax.servlet.ServletContext;
import javax.servlet.ServletContextEvent;

import org.killbill.billing.jaxrs.resources.JaxRsResourceBase;
import org.killbill.billing.jaxrs.util.KillbillEventHandler;
import org.killbill.billing.platform.api.KillbillConfigSource;
import org.killbill.billing.platform.config.DefaultKillbillConfigSource;
import org.killbill.billing.server.listeners.KillbillPlatformGuiceListener;
import org.killbill.bus.api.PersistentBus;
import org.killbill.commons.skeleton.modules.BaseServerModuleBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.jaxrs.json.JacksonJsonProvider;
import com.google.inject.Module;
import com.google.inject.servlet.ServletModule;

/**
 * Servlet context listener of the test server: the Kill Bill platform listener plus the Kill Bill
 * billing modules and the JAX-RS API of killbill-jaxrs.
 */
public class KbServerListener extends KillbillPlatformGuiceListener {

    private static final Logger logger = LoggerFactory.getLogger(KbServerListener.class);

    /** Read by the platform's EmbeddedDBProvider: DDL run once on a fresh (table-less) H2 database. */
    static final String SEED_FILES_PROPERTY = "org.killbill.dao.additionalSeedFiles";

    private static final String[] DDL_MODULES = {"account", "beatrix", "catalog", "entitlement", "invoice",
                                                 "payment", "subscription", "tenant", "usage", "util"};

    private KillbillEventHandler eventHandler;

    @Override
    public void contextInitialized(final ServletContextEvent event) {
        if (System.getProperty(SEED_FILES_PROPERTY) == null) {
            final StringBuilder files = new StringBuilder();
            for (final String module : DDL_MODULES) {
                if (files.length() > 0) {
                    files.append(',');
                }
                files.append("org/killbill/billing/").append(module).append("/ddl.sql");
            }
            System.setProperty(SEED_FILES_PROPERTY, files.toString());
        }
        final long start = System.currentTimeMillis();
        super.contextInitialized(event);
        logger.info("Kill Bill test server has started ({} ms in the listener)", System.currentTimeMillis() - start);
    }

    @Override
    protected KillbillConfigSource getConfigSource() throws IOException, URISyntaxException {
        // Nothing to fetch: the update check stays pointed at a local, empty file unless configured otherwise.
        return new DefaultKillbillConfigSource(Map.of("org.killbill.server.updateCheck.skip", "true"));
    }

    @Override
    protected ServletModule getServletModule() {
        final BaseServerModuleBuilder builder = new BaseServerModuleBuilder()
                .setJaxrsUriPattern("(" + JaxRsResourceBase.PREFIX + "|" + JaxRsResourceBase.PLUGINS_PATH + ")/.*")
                .addJerseyResourcePackage("org.killbill.billing.jaxrs.mappers")
                .addJerseyResourcePackage("org.killbill.billing.jaxrs.resources");
        builder.addJerseyResourceClass(JacksonJsonProvider.class.getName());
        builder.addJerseyResourceClass(KbRequestDataFilter.class.getName());
        builder.addJerseyResourceClass(KbDefaultContentTypeFilter.class.getName());
        builder.addJerseyParam("jersey.config.server.wadl.disableWadl", "true");
        // As stock: CORS headers on every response, then the tenant filter.
        builder.addFilter("/*", KbResponseCorsFilter.class);
        if (config.isMultiTenancyEnabled()) {
            builder.addFilter("/*", KbTenantFilter.class);
        }
        return builder.build();
    }

    @Override
    protected Module getModule(final ServletContext servletContext) {
        return new KbServerModule(servletContext, config, configSource);
    }

    @Override
    protected void startLifecycleStage2() {
        eventHandler = injector.getInstance(KillbillEventHandler.class);
        try {
            killbillBusService.getBus().register(eventHandler);
        } catch (final PersistentBus.EventBusException e) {
            throw new IllegalStateException("Cannot register the JAX-RS event handler on the bus", e);
        }
    }

    @Override
    protected void stopLifecycleStage2() {
        super.stopLifecycleStage2();
        if (eventHandler != null) {
            try {
                killbillBusService.getBus().unregister(eventHandler);
            } catch (final PersistentBus.EventBusException e) {
                logger.warn("Cannot unregister the JAX-RS event handler", e);
            }
        }
    }
}
