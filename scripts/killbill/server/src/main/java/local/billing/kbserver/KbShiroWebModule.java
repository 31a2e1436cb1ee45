package local.billing.kbserver;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;

import javax.inject.Inject;
import javax.servlet.Filter;
import javax.servlet.ServletContext;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;

import org.apache.shiro.authc.pam.FirstSuccessfulStrategy;
import org.apache.shiro.authc.pam.ModularRealmAuthenticator;
import org.apache.shiro.cache.CacheManager;
import org.apache.shiro.guice.web.ShiroWebModule;
import org.apache.shiro.mgt.DefaultSecurityManager;
import org.apache.shiro.mgt.DefaultSessionStorageEvaluator;
import org.apache.shiro.mgt.DefaultSubjectDAO;
import org.apache.shiro.mgt.SubjectDAO;
import org.apache.shiro.realm.Realm;
import org.apache.shiro.realm.text.IniRealm;
import org.apache.shiro.session.mgt.SessionManager;
import org.apache.shiro.session.mgt.eis.MemorySessionDAO;
import org.apache.shiro.session.mgt.eis.SessionDAO;
import org.apache.shiro.web.filter.authc.BasicHttpAuthenticationFilter;
import org.apache.shiro.web.mgt.DefaultWebSecurityManager;
import org.apache.shiro.web.mgt.WebSecurityManager;
import org.apache.shiro.web.session.mgt.DefaultWebSessionManager;
import org.apache.shiro.web.util.WebUtils;
import org.killbill.billing.jaxrs.resources.JaxrsResource;
import org.killbill.billing.util.config.definition.RbacConfig;
import org.killbill.billing.util.config.definition.SecurityConfig;
import org.killbill.billing.util.glue.EhcacheShiroManagerProvider;
import org.killbill.billing.util.glue.RealmsFromShiroIniProvider;
import org.killbill.billing.util.security.shiro.realm.KillBillJdbcRealm;
import org.skife.config.AugmentedConfigurationObjectFactory;
import org.skife.config.ConfigSource;

import com.google.inject.Key;
import com.google.inject.Provider;
import com.google.inject.TypeLiteral;
import com.google.inject.binder.AnnotatedBindingBuilder;

/**
 * Shiro for the test server: users from shiro.ini (admin/password) and from the database, HTTP basic
 * authentication on the API paths, stateless requests (no server-side sessions), and a separate realm
 * that checks tenant api keys and secrets. Like stock Kill Bill's Shiro module, no global filter: Shiro
 * 1.6+ would otherwise put its InvalidRequestFilter in front of every path and answer 400 to a path
 * with a non-ASCII character, a semicolon, a backslash or an encoded dot (a usage unit, say).
 */
public class KbShiroWebModule extends ShiroWebModule {

    private final ConfigSource configSource;

    public KbShiroWebModule(final ServletContext servletContext, final ConfigSource configSource) {
        super(servletContext);
        this.configSource = configSource;
    }

    @Override
    protected void configureShiroWeb() {
        bind(CacheManager.class).toProvider(EhcacheShiroManagerProvider.class).asEagerSingleton();

        final AugmentedConfigurationObjectFactory factory = new AugmentedConfigurationObjectFactory(configSource);
        final SecurityConfig securityConfig = factory.build(SecurityConfig.class);
        final DefaultSecurityManager fromIni = RealmsFromShiroIniProvider.get(configSource);
        final Collection<Realm> iniRealms = fromIni.getRealms() != null ? fromIni.getRealms()
                                                                        : Set.of(new IniRealm(securityConfig.getShiroResourcePath()));
        for (final Realm realm : iniRealms) {
            bindRealm().toInstance(realm);
        }

        bind(RbacConfig.class).toInstance(factory.build(RbacConfig.class));
        bindRealm().to(KillBillJdbcRealm.class).asEagerSingleton();

        addFilterChain(JaxrsResource.PREFIX + "/**", Key.get(BasicAuthFilter.class));
        addFilterChain(JaxrsResource.PLUGINS_PATH + "/**", Key.get(OptionalBasicAuthFilter.class));

        bind(KbTenantRealm.class).toProvider(KbTenantRealm.RealmProvider.class).asEagerSingleton();
        expose(KbTenantRealm.class);
        expose(new TypeLiteral<Set<Realm>>() {});
    }

    @Override
    public List<FilterConfig<? extends Filter>> globalFilters() {
        return Collections.emptyList();
    }

    @Override
    protected void bindWebSecurityManager(final AnnotatedBindingBuilder<? super WebSecurityManager> bind) {
        bind.toProvider(SecurityManagerProvider.class).asEagerSingleton();
    }

    @Override
    protected void bindSessionManager(final AnnotatedBindingBuilder<SessionManager> bind) {
        bind.to(DefaultWebSessionManager.class).asEagerSingleton();
        bind(SessionDAO.class).to(MemorySessionDAO.class).asEagerSingleton();
        bind(SubjectDAO.class).toProvider(StatelessSubjectDAOProvider.class).asEagerSingleton();
    }

    public static final class SecurityManagerProvider implements Provider<DefaultWebSecurityManager> {

        private final Collection<Realm> realms;
        private final SessionManager sessionManager;
        private final SubjectDAO subjectDAO;

        @Inject
        public SecurityManagerProvider(final Collection<Realm> realms, final SessionManager sessionManager, final SubjectDAO subjectDAO) {
            this.realms = realms;
            this.sessionManager = sessionManager;
            this.subjectDAO = subjectDAO;
        }

        @Override
        public DefaultWebSecurityManager get() {
            final DefaultWebSecurityManager securityManager = new DefaultWebSecurityManager(realms);
            securityManager.setSessionManager(sessionManager);
            securityManager.setSubjectDAO(subjectDAO);
            final FirstSuccessfulStrategy strategy = new FirstSuccessfulStrategy();
            strategy.setStopAfterFirstSuccess(true);
            ((ModularRealmAuthenticator) securityManager.getAuthenticator()).setAuthenticationStrategy(strategy);
            return securityManager;
        }
    }

    public static final class StatelessSubjectDAOProvider implements Provider<SubjectDAO> {

        @Override
        public SubjectDAO get() {
            final DefaultSessionStorageEvaluator evaluator = new DefaultSessionStorageEvaluator();
            evaluator.setSessionStorageEnabled(false);
            final DefaultSubjectDAO subjectDAO = new DefaultSubjectDAO();
            subjectDAO.setSessionStorageEvaluator(evaluator);
            return subjectDAO;
        }
    }

    /** Basic authentication, except for CORS pre-flight requests. */
    public static class BasicAuthFilter extends BasicHttpAuthenticationFilter {

        @Override
        protected boolean isAccessAllowed(final ServletRequest request, final ServletResponse response, final Object mappedValue) {
            return "OPTIONS".equalsIgnoreCase(WebUtils.toHttp(request).getMethod()) || super.isAccessAllowed(request, response, mappedValue);
        }
    }

    /** Plugin paths: log in when credentials are present, never challenge. */
    public static final class OptionalBasicAuthFilter extends BasicAuthFilter {

        @Override
        protected boolean onAccessDenied(final ServletRequest request, final ServletResponse response) throws Exception {
            if (isLoginAttempt(request, response)) {
                executeLogin(request, response);
            }
            return true;
        }
    }
}
