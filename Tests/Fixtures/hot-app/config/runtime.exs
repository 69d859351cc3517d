import Config

# Read at boot from the dyno's environment: a hot upgrade must keep it.
config :hot_sample, greeting: System.get_env("HOT_GREETING", "none")
