import Config
config :phoenix_assets, greeting: "hello"
